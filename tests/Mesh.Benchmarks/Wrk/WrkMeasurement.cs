using Mesh.Benchmarks.Scenarios;

namespace Mesh.Benchmarks.Wrk;

/// <summary>
/// The shared shape of the wrk scenarios: a discarded warm-up run (JIT tiering, connection pools and the agent's
/// caches settle), then the measured run, turned into figures.
/// </summary>
internal static class WrkMeasurement
{
    /// <summary>wrk threads: one per core, the same count as the agent's, so neither side is starved by design.</summary>
    public const int Threads = 2;

    /// <summary>Concurrent keep-alive connections; enough to keep 2 cores busy without measuring a queue.</summary>
    public const int Connections = 64;

    public static async Task<ScenarioResult> RunAsync(
        BenchContext context, string scenario, string path, string? script, double? targetPerSecond, CancellationToken cancellation,
        IReadOnlyList<string>? headers = null, IReadOnlyList<string>? scriptArgs = null)
    {
        var url = new Uri(context.Agent.BaseAddress, path);
        var scriptPath = script is null ? null : Path.Combine(AppContext.BaseDirectory, "Wrk", script);

        if (context.Options.Warmup > TimeSpan.Zero)
        {
            context.Log.WriteLine($"{scenario}: warm-up {context.Options.Warmup.TotalSeconds:0.#} s");
            await WrkRunner.RunAsync(context.WrkPath, url, Threads, Connections, context.Options.Warmup, scriptPath, cancellation, headers, scriptArgs);
        }

        context.Log.WriteLine($"{scenario}: measuring {context.Options.Duration.TotalSeconds:0.#} s, wrk -t {Threads} -c {Connections} {url.PathAndQuery}");
        var run = await WrkRunner.RunAsync(context.WrkPath, url, Threads, Connections, context.Options.Duration, scriptPath, cancellation, headers, scriptArgs);

        // A script that does not load makes wrk fall back to plain GETs of the URL: every answer an error, no
        // measurement at all. Say so rather than report zero.
        if (run.Requests > 0 && run.Non2xx == run.Requests)
            throw new Infrastructure.BenchmarkSetupException($"{scenario}: every one of {run.Requests:#,0} responses was an error (did wrk load {script}?)");

        // wrk counts error responses in Requests/sec; only successful ones count towards the target.
        var okPerSecond = run.Requests == 0 ? 0 : run.RequestsPerSecond * (run.Requests - run.Non2xx) / run.Requests;
        var notes = new List<string>();
        if (run.Non2xx > 0) notes.Add($"{run.Non2xx:#,0} of {run.Requests:#,0} responses were not 2xx; requests/s counts only the 2xx ones");
        if (run.SocketErrors > 0) notes.Add($"wrk reported {run.SocketErrors:#,0} socket errors (connect, read, write or 2 s timeout)");

        return new ScenarioResult(scenario,
        [
            new Figure("requests/s", "requests_per_sec", okPerSecond, "req/s",
                targetPerSecond is { } target ? new Target(TargetKind.AtLeast, target) : null),
            new Figure("latency p50", "p50_ms", run.P50Ms, "ms"),
            new Figure("latency p99", "p99_ms", run.P99Ms, "ms"),
            new Figure("requests", "requests", run.Requests, ""),
            new Figure("non-2xx responses", "non_2xx", run.Non2xx, ""),
            new Figure("socket errors", "socket_errors", run.SocketErrors, ""),
        ], notes);
    }
}
