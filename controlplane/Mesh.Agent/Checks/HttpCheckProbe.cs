using Mesh.State.Tables;
using System.Net.Security;
using System.Text;

namespace Mesh.Agent.Checks;

/// <summary>
/// Consul's HTTP check: 2xx is passing, 429 warning, anything else (and any transport error) critical; the output
/// carries the method, URL, status line and the last 4 KiB of the body.
/// </summary>
internal sealed class HttpCheckProbe : ICheckProbe, IDisposable
{
    /// <summary>Consul's <c>checks.UserAgent</c>, sent unless the check sets its own.</summary>
    public const string UserAgent = "Consul Health Check";

    private const string DefaultAccept = "text/plain, text/*, */*";

    private readonly CheckDefinition _definition;
    private readonly HttpClient _client;
    private readonly TimeSpan _timeout;
    private readonly HttpMethod _method;

    // Consul disables keep-alives so a check never fails on a connection the target closed while idle: a connection
    // lifetime of zero means no connection is reused.
    private static readonly SocketsHttpHandler VerifyingHandler = new() { PooledConnectionLifetime = TimeSpan.Zero, UseCookies = false };

    private static readonly SocketsHttpHandler SkipVerifyHandler = new()
    {
        PooledConnectionLifetime = TimeSpan.Zero,
        UseCookies = false,
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
    };

    public HttpCheckProbe(CheckDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        _definition = definition;
        _timeout = definition.EffectiveTimeout;
        _method = new HttpMethod(string.IsNullOrEmpty(definition.Method) ? "GET" : definition.Method.ToUpperInvariant());
        // The timeout is applied per request below so it also covers reading the body, as Go's Client.Timeout does.
        // All HTTP checks share two handlers (verifying TLS or not): a handler per check would give each of
        // thousands of checks its own connection pool and timers.
        _client = new HttpClient(definition.TLSSkipVerify ? SkipVerifyHandler : VerifyingHandler, disposeHandler: false)
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    public async Task<CheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var url = _definition.HTTP;
        // Go names the failed operation by the method with only its first letter upper-case ("Get", "Post").
        var op = _method.Method[..1] + _method.Method[1..].ToLowerInvariant();
        HttpRequestMessage request;
        try
        {
            request = BuildRequest();
        }
        catch (Exception ex) when (ex is UriFormatException or FormatException or InvalidOperationException or ArgumentException)
        {
            return new CheckResult(HealthStatus.Critical, $"{op} \"{url}\": {ex.Message}");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using (request)
            using (var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false))
            {
                var body = new TailBuffer();
                await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(8192);
                try
                {
                    int read;
                    while ((read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
                    {
                        body.Write(buffer.AsSpan(0, read));
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }

                var code = (int)response.StatusCode;
                var reason = string.IsNullOrEmpty(response.ReasonPhrase) ? ReasonPhrases.For(code) : response.ReasonPhrase;
                var output = $"HTTP {_method.Method} {url}: {code} {reason} Output: {body.Text()}";
                var status = code is >= 200 and <= 299 ? HealthStatus.Passing
                    : code == 429 ? HealthStatus.Warning
                    : HealthStatus.Critical;
                return new CheckResult(status, output);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new CheckResult(
                HealthStatus.Critical,
                $"{op} \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)");
        }
        catch (HttpRequestException ex)
        {
            return new CheckResult(HealthStatus.Critical, $"{op} \"{url}\": {Describe(ex)}");
        }
        catch (IOException ex)
        {
            return new CheckResult(HealthStatus.Critical, $"{op} \"{url}\": {ex.Message}");
        }
    }

    public void Dispose() => _client.Dispose();

    private HttpRequestMessage BuildRequest()
    {
        var request = new HttpRequestMessage(_method, new Uri(_definition.HTTP, UriKind.Absolute));
        if (request.RequestUri!.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"unsupported protocol scheme \"{request.RequestUri.Scheme}\"");
        }

        if (_definition.Body.Length > 0)
        {
            request.Content = new StringContent(_definition.Body, Encoding.UTF8);
            request.Content.Headers.ContentType = null;
        }

        foreach (var (name, values) in _definition.Header ?? new Dictionary<string, IReadOnlyList<string>>())
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                // Consul sends a Host header as the request's host, the way virtual hosts are usually checked.
                if (values.Count > 0)
                {
                    request.Headers.Host = values[0];
                }

                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, values))
            {
                // Content headers (Content-Type and friends) live on the content, which may not exist yet.
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        if (!request.Headers.Contains("User-Agent"))
        {
            request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        }

        if (!request.Headers.Contains("Accept"))
        {
            request.Headers.TryAddWithoutValidation("Accept", DefaultAccept);
        }

        return request;
    }

    private static string Describe(HttpRequestException ex) =>
        ex.InnerException is { } inner && !string.IsNullOrEmpty(inner.Message) ? $"{ex.Message} ({inner.Message})" : ex.Message;

    /// <summary>Reason phrases for servers that send none (HTTP/2 has no reason phrase); Go prints them the same way.</summary>
    private static class ReasonPhrases
    {
        public static string For(int code) =>
            Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(code) is { Length: > 0 } phrase ? phrase : "status code " + code;
    }
}
