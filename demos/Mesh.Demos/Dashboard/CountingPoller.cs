using System.Net.Http.Headers;
using System.Text.Json;
using Mesh.Demos.Counting;
using Mesh.Demos.Hosting;
using Mesh.Demos.Tracing;

namespace Mesh.Demos.Dashboard;

/// <summary>How the dashboard reaches counting.</summary>
/// <param name="CountingUrl">Counting's URL: the local port of the dashboard sidecar's <c>counting</c> upstream.</param>
/// <param name="PollInterval">How often it asks.</param>
/// <param name="Timeout">How long one request may take before counting counts as unreachable.</param>
internal sealed record DashboardOptions(Uri CountingUrl, TimeSpan PollInterval, TimeSpan Timeout);

/// <summary>
/// Asks counting for the count once per <see cref="DashboardOptions.PollInterval"/> and publishes the answer, or why
/// there was none, on the <see cref="StatusBoard"/>. Each poll is one traced request: the root client span of the
/// trace that goes on through both sidecars to counting.
/// </summary>
internal sealed partial class CountingPoller(DashboardOptions options, StatusBoard board, ILogger<CountingPoller> logger) : BackgroundService
{
    private const int MaxReasonBody = 200;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var http = DemoTracing.CreateHttpClient(options.Timeout);
        using var timer = new PeriodicTimer(options.PollInterval);
        try
        {
            do
            {
                var status = await PollAsync(http, stoppingToken);
                Report(board.Current, status);
                board.Publish(status);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    /// <summary>One poll: a count, or the reason there is none.</summary>
    internal async Task<CountingStatus> PollAsync(HttpClient http, CancellationToken cancellation)
    {
        var url = options.CountingUrl.ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, options.CountingUrl);
        // A new connection for every poll. Intentions are enforced when a connection to counting is opened (L4), so
        // a connection kept alive from before a deny intention would go on counting as if nothing had changed.
        request.Headers.ConnectionClose = true;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var span = DemoTracing.StartClient(request, "counting");
        string reason;
        try
        {
            using var response = await http.SendAsync(request, cancellation);
            var body = await response.Content.ReadAsStringAsync(cancellation);
            DemoTracing.Completed(span, response.StatusCode);
            if (!response.IsSuccessStatusCode)
            {
                var detail = Shorten(body);
                return Unreachable(url, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}{(detail.Length > 0 ? ": " + detail : "")}");
            }

            if (TryRead(body) is { } answer)
            {
                span?.SetTag("demo.count", answer.Count);
                return new CountingStatus(CountingStatus.Reachable, url, DateTimeOffset.UtcNow, answer.Count, answer.Hostname);
            }

            reason = $"unexpected answer: {Shorten(body)}";
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            reason = $"no answer within {options.Timeout.TotalSeconds:0.#}s";
        }
        catch (HttpRequestException e)
        {
            reason = Describe(e);
        }

        DemoTracing.Failed(span, reason);
        return Unreachable(url, reason);
    }

    private static CountingStatus Unreachable(string url, string reason) =>
        new(CountingStatus.Unreachable, url, DateTimeOffset.UtcNow, Reason: reason);

    private static CountAnswer? TryRead(string body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, DemoJson.Default.CountAnswer) is { Hostname: not null } answer ? answer : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The exception's message and its causes', e.g. "... sending the request: Connection refused (localhost:5000)".</summary>
    private static string Describe(Exception exception)
    {
        var parts = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            // A cause often repeats its wrapper's words ("Connection refused (localhost:5000)" over "Connection refused").
            if (!parts.Exists(part => part.Contains(e.Message, StringComparison.Ordinal))) parts.Add(e.Message);
        }

        // "... sending the request: The response ended prematurely." rather than "request.: The response...".
        return string.Join(": ", parts.Select((part, i) => i < parts.Count - 1 ? part.TrimEnd('.') : part));
    }

    private static string Shorten(string body)
    {
        var text = body.Trim().ReplaceLineEndings(" ");
        return text.Length <= MaxReasonBody ? text : text[..MaxReasonBody] + "...";
    }

    /// <summary>Logs changes only: a line a second would bury them.</summary>
    private void Report(CountingStatus previous, CountingStatus current)
    {
        if (current.State == CountingStatus.Reachable && previous.State != CountingStatus.Reachable)
        {
            Log.Reachable(logger, current.Url, current.Count ?? 0, current.Hostname ?? "");
        }
        else if (current.State == CountingStatus.Unreachable && (previous.State != CountingStatus.Unreachable || previous.Reason != current.Reason))
        {
            Log.Unreachable(logger, current.Url, current.Reason ?? "");
        }
    }
}
