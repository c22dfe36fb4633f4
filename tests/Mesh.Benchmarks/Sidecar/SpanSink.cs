using System.Globalization;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// The benchmark's handle on the span sink, which runs as its own process (<see cref="SpanSinkServer"/>) so that
/// decoding the spans never pauses the load generator that measures the traced path.
/// </summary>
internal sealed class SpanSink : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly HttpClient _control;

    private SpanSink(ChildProcess process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        _control = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>The collector's base URL, <c>http://127.0.0.1:port</c>: Zipkin's and OTLP/HTTP's.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The sink's process, for its pid and output in messages.</summary>
    public ChildProcess Process => _process;

    public static async Task<SpanSink> StartAsync(CancellationToken cancellation)
    {
        var port = ChildProcess.FreePort();
        var self = Path.Combine(AppContext.BaseDirectory, "Mesh.Benchmarks.dll");
        // The sink stands in for a collector, which in a deployment runs on other cores than the sidecars it serves.
        // Here it shares the two cores with the measured path, so it runs at the lowest CPU priority (nice 19): its
        // decoding of every span still takes CPU, but no longer ahead of a request's.
        var nice = Tools.Find("nice");
        string[] sink = [self, "span-sink", "--port", port.ToString(CultureInfo.InvariantCulture)];
        var process = nice is null
            ? ChildProcess.Start("span sink", AgentProcess.DotnetHost(), sink, AppContext.BaseDirectory)
            : ChildProcess.Start("span sink", nice, ["-n", "19", AgentProcess.DotnetHost(), .. sink], AppContext.BaseDirectory);
        try
        {
            await process.WaitForPortAsync(port, TimeSpan.FromSeconds(30), cancellation);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        return new SpanSink(process, new Uri($"http://127.0.0.1:{port}"));
    }

    /// <summary>From now on, counts the spans that started at or after <paramref name="since"/> (and only those).</summary>
    public async Task CountFromAsync(DateTime since, CancellationToken cancellation)
    {
        var microseconds = (since - DateTime.UnixEpoch).Ticks / 10;
        using var response = await _control.PostAsync($"/sink/count-from/{microseconds.ToString(CultureInfo.InvariantCulture)}", null, cancellation);
        if (!response.IsSuccessStatusCode) throw new BenchmarkSetupException($"the span sink refused the count mark: {(int)response.StatusCode}");
    }

    /// <summary>
    /// The sink's counters: spans started since the <see cref="CountFromAsync"/> mark, spans received in all, and
    /// requests it could not read (answered 400).
    /// </summary>
    public async Task<(long Counted, long Received, long Rejected)> CountsAsync(CancellationToken cancellation)
    {
        var text = await _control.GetStringAsync("/sink/counts", cancellation);
        var parts = text.Split(' ');
        if (parts.Length != 3) throw new BenchmarkSetupException($"the span sink answered its counts with '{text}'");
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture),
            long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Waits until <paramref name="expected"/> spans started since the <see cref="CountFromAsync"/> mark have arrived,
    /// or until none arrived for <paramref name="quiet"/> (the exporters batch for up to 5 s), and returns how many did.
    /// </summary>
    public async Task<long> WaitForAsync(long expected, TimeSpan quiet, TimeSpan timeout, CancellationToken cancellation)
    {
        var deadline = DateTime.UtcNow + timeout;
        var count = (await CountsAsync(cancellation)).Counted;
        var changed = DateTime.UtcNow;
        while (count < expected && DateTime.UtcNow - changed < quiet && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, cancellation);
            var now = (await CountsAsync(cancellation)).Counted;
            if (now != count) changed = DateTime.UtcNow;
            count = now;
        }

        return count;
    }

    public async ValueTask DisposeAsync()
    {
        _control.Dispose();
        await _process.DisposeAsync();
    }
}
