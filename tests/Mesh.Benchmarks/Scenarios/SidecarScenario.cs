using System.Globalization;
using System.Net;
using Mesh.Benchmarks.Infrastructure;
using Mesh.Benchmarks.Sidecar;
using Mesh.Benchmarks.Wrk;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// The sidecar data path against HAProxy: load client → local proxy (plain HTTP/1.1) → mutual TLS → remote proxy →
/// app, built once with two HAProxy processes and once with two Mesh sidecars driven by the agent over xDS, plus the
/// client straight to the app for reference. The app is nginx with one worker. For each path: latency at a constant
/// 1,000 requests/s from an open-loop generator (the added p99 is the pair's minus the direct one), wrk throughput at
/// two connection counts, and each proxy's resident memory after the load and a few seconds idle. Beside the Mesh pair
/// runs a second one with tracing on at 100 % sampling, exporting to a sink in a process of its own (the web sidecar as
/// Zipkin JSON, the api sidecar as OTLP/HTTP); the two pairs' latency runs alternate in rounds, and what tracing adds
/// to the p99 at 1,000 requests/s compares their pooled samples. The spans that arrived for those rounds are counted.
/// </summary>
internal sealed class SidecarScenario : IScenario
{
    private const double TargetRatio = 0.8;
    private const double TargetAddedP99Ms = 1.0;
    private const double TargetRssMb = 60;
    private const double TargetTracingAddedP99Percent = 10;
    /// <summary>Each request through the pair makes two spans: the web sidecar's client span and the api sidecar's server span.</summary>
    private const int SpansPerRequest = 2;
    private const int Rate = 1000;
    private const int OpenLoopConnections = 16;
    private const string Path = "/";
    private static readonly int[] ConnectionCounts = [32, 128];
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(5);
    /// <summary>How long the paths sit idle between the warm-up burst and the latency runs.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);
    /// <summary>About how long one latency round of the alternating pairs lasts.</summary>
    private static readonly TimeSpan RoundLength = TimeSpan.FromSeconds(5);

    public string Name => "sidecar";

    /// <summary>Everything measured on one path (direct, or through one pair).</summary>
    private sealed record PathFigures(string Name, double[] RequestsPerSecond, double[] WrkP99Ms, LatencyResult Latency,
        (string Label, long RssBytes, int Threads)[] Processes)
    {
        /// <summary>For the traced pair: spans that arrived for the 1,000 req/s runs, and how many requests they sent.</summary>
        public (long Received, long Requests)? Spans { get; init; }

        /// <summary>For the alternating pairs: each round's p99 at 1,000 req/s, in the order run.</summary>
        public double[]? Rounds { get; init; }
    }

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        var log = context.Log;
        var wrk = Tools.Find("wrk") ?? throw new BenchmarkSetupException(
            "wrk is not installed (it generates the sidecar throughput load). Install it with `sudo apt-get install wrk`, then run again.");
        var nginx = Tools.Require("nginx", "nginx-light");
        var haproxy = Tools.Find("haproxy");
        var notes = new List<string>
        {
            $"app: {NginxApp.Version(nginx)}, 1 worker, `return 200 \"{NginxApp.Body}\"`; " +
            $"haproxy: {(haproxy is null ? "not installed (`sudo apt-get install haproxy`), pair not measured" : HaproxyPair.Version(haproxy))}; wrk: {WrkRunner.Version(wrk)}",
            $"throughput: wrk -t 1 -c {string.Join("/", ConnectionCounts)} for {Seconds(context.Options.Duration)} s after a {Seconds(context.Options.Warmup)} s warm-up; " +
            $"latency: {Rate:#,0} req/s open loop over {OpenLoopConnections} keep-alive connections, measured from each request's due time, " +
            $"{Seconds(LatencyDuration(context.Options))} s after {Seconds(LatencyWarmup(context.Options))} s; everything on the same {Environment.ProcessorCount} cores",
        };

        var directory = Directory.CreateTempSubdirectory("mesh-bench-sidecar-").FullName;
        try
        {
            await using var app = await NginxApp.StartAsync(nginx, System.IO.Path.Combine(directory, "app"), cancellation);
            log.WriteLine($"sidecar: app (nginx) pid {app.Process.Pid} on 127.0.0.1:{app.Port}");
            var direct = await MeasureAsync(context, wrk, "direct", app.Port, [], cancellation);

            // A pair that cannot be set up is the scenario's error, but the other figures still stand on their own.
            var errors = new List<string>();
            PathFigures? haproxyFigures = null;
            if (haproxy is not null)
            {
                try
                {
                    using var pki = new SidecarPki();
                    await using var pair = await HaproxyPair.StartAsync(haproxy, System.IO.Path.Combine(directory, "haproxy"), pki, app.Port, cancellation);
                    log.WriteLine($"sidecar: haproxy pair, outbound pid {pair.Outbound.Pid} on 127.0.0.1:{pair.EntryPort}, inbound pid {pair.Inbound.Pid}");
                    await CheckPathAsync(pair, cancellation);
                    haproxyFigures = await MeasureAsync(context, wrk, pair.Name, pair.EntryPort, [pair.Outbound, pair.Inbound], cancellation);
                }
                catch (BenchmarkSetupException e)
                {
                    errors.Add($"the HAProxy pair could not be measured: {e.Message}");
                }
            }

            // The untraced and the traced pair run side by side, and their latency runs alternate (untraced, traced,
            // traced, untraced, ...): a p99 at 1,000 req/s moves by more than the 10 % being measured when the
            // machine's conditions drift between two runs minutes apart, and alternating spreads any drift over both.
            PathFigures? meshFigures = null;
            PathFigures? tracedFigures = null;
            try
            {
                await using var mesh = await MeshPair.StartAsync(context.Agent, context.Api, System.IO.Path.Combine(directory, "mesh"), app.Port, "warn", null, cancellation);
                log.WriteLine($"sidecar: mesh pair, web sidecar pid {mesh.Outbound.Pid} (upstream api on 127.0.0.1:{mesh.EntryPort}), api sidecar pid {mesh.Inbound.Pid}");
                await CheckPathAsync(mesh, cancellation);
                SpanSink? sink = null;
                MeshPair? traced = null;
                try
                {
                    try
                    {
                        sink = await SpanSink.StartAsync(cancellation);
                        traced = await MeshPair.StartAsync(context.Agent, context.Api, System.IO.Path.Combine(directory, "traced"), app.Port, "warn",
                            sink.BaseAddress, cancellation);
                        log.WriteLine($"sidecar: traced mesh pair, web sidecar pid {traced.Outbound.Pid} (Zipkin), api sidecar pid {traced.Inbound.Pid} (OTLP/HTTP), " +
                            $"spans to {sink.BaseAddress}");
                        await CheckPathAsync(traced, cancellation);
                    }
                    catch (BenchmarkSetupException e)
                    {
                        errors.Add($"the traced Mesh sidecar pair could not be measured: {e.Message}");
                        if (traced is not null) await traced.DisposeAsync();
                        traced = null;
                    }

                    if (traced is null || sink is null)
                    {
                        meshFigures = await MeasureAsync(context, wrk, mesh.Name, mesh.EntryPort, [mesh.Outbound, mesh.Inbound], cancellation);
                    }
                    else
                    {
                        await WarmAsync(context, wrk, [mesh, traced], cancellation);
                        await sink.CountFromAsync(DateTime.UtcNow, cancellation);
                        var (meshRuns, tracedRuns) = await AlternatingLatencyAsync(context, mesh, traced, cancellation);
                        var requests = tracedRuns.Sum(r => r.Sent);
                        var received = await sink.WaitForAsync(requests * SpansPerRequest, quiet: TimeSpan.FromSeconds(7), timeout: TimeSpan.FromSeconds(30), cancellation);
                        var counts = await sink.CountsAsync(cancellation);
                        log.WriteLine($"sidecar: {traced.Name,-7} spans at the sink (pid {sink.Process.Pid}) for the {Rate:#,0} req/s runs: {received:#,0} of " +
                            $"{requests * SpansPerRequest:#,0} ({SpansPerRequest} per request); {counts.Received:#,0} in all, {counts.Rejected:#,0} requests refused");
                        if (received == 0)
                            errors.Add($"the traced pair exported no span to the sink ({counts.Received:#,0} spans in all, {counts.Rejected:#,0} requests refused); " +
                                       $"{traced.Outbound.Describe()}; {traced.Inbound.Describe()}");
                        var meshThroughput = await ThroughputAsync(context, wrk, mesh.Name, mesh.EntryPort, cancellation);
                        var tracedThroughput = await ThroughputAsync(context, wrk, traced.Name, traced.EntryPort, cancellation);
                        var rss = await IdleRssAsync([mesh.Outbound, mesh.Inbound, traced.Outbound, traced.Inbound], cancellation);
                        meshFigures = new PathFigures(mesh.Name, meshThroughput.Rps, meshThroughput.P99, LatencyResult.Pool(meshRuns.Select(r => r.Latency).ToArray()), rss[..2])
                        {
                            Rounds = meshRuns.Select(r => r.Latency.P99Ms).ToArray(),
                        };
                        tracedFigures = new PathFigures(traced.Name, tracedThroughput.Rps, tracedThroughput.P99, LatencyResult.Pool(tracedRuns.Select(r => r.Latency).ToArray()), rss[2..])
                        {
                            Spans = (received, requests),
                            Rounds = tracedRuns.Select(r => r.Latency.P99Ms).ToArray(),
                        };
                    }
                }
                finally
                {
                    if (traced is not null) await traced.DisposeAsync();
                    if (sink is not null) await sink.DisposeAsync();
                }
            }
            catch (BenchmarkSetupException e)
            {
                errors.Add($"the Mesh sidecar pair could not be measured: {e.Message}");
            }

            return new ScenarioResult(Name, Figures(direct, haproxyFigures, meshFigures, tracedFigures),
                [.. notes, .. TracingNotes(meshFigures, tracedFigures), .. ProcessNotes(haproxyFigures), .. ProcessNotes(meshFigures), .. ProcessNotes(tracedFigures),
                .. LatencyNotes(direct), .. LatencyNotes(haproxyFigures), .. LatencyNotes(meshFigures), .. LatencyNotes(tracedFigures)],
                errors.Count == 0 ? null : string.Join(Environment.NewLine, errors));
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private static TimeSpan LatencyDuration(BenchOptions options) => options.Duration * 2;

    private static TimeSpan LatencyWarmup(BenchOptions options) => options.Warmup < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : options.Warmup;

    /// <summary>One request through the pair before measuring, so a broken configuration is an error, not 0 req/s.</summary>
    private static async Task CheckPathAsync(IProxyPair pair, CancellationToken cancellation)
    {
        using var connection = new RawHttpConnection(new IPEndPoint(IPAddress.Loopback, pair.EntryPort), Path);
        int status;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            status = await connection.SendAsync(timeout.Token);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException && !cancellation.IsCancellationRequested)
        {
            throw new BenchmarkSetupException($"a request through the {pair.Name} pair failed ({e.Message}); {pair.Outbound.Describe()}; {pair.Inbound.Describe()}");
        }
        if (status != 200)
            throw new BenchmarkSetupException($"a request through the {pair.Name} pair answered {status}; {pair.Outbound.Describe()}; {pair.Inbound.Describe()}");
    }

    /// <summary>
    /// A warm-up, latency at the constant rate, then throughput with wrk, then idle RSS: one path measured on its own.
    /// Latency comes before the throughput runs so that it sees the path in a steady state, not recovering from a
    /// saturation run (a heap grown under wrk, queues full).
    /// </summary>
    private static async Task<PathFigures> MeasureAsync(BenchContext context, string wrk, string name, int port, ChildProcess[] proxies,
        CancellationToken cancellation)
    {
        await WarmAsync(context, wrk, [(name, port)], cancellation);
        var latency = await LatencyAsync(context, name, port, LatencyWarmup(context.Options), LatencyDuration(context.Options), cancellation);
        var (rps, p99) = await ThroughputAsync(context, wrk, name, port, cancellation);
        return new PathFigures(name, rps, p99, latency, await IdleRssAsync(proxies, cancellation));
    }

    /// <summary>
    /// Before the latency runs: each path under wrk for the warm-up time, so the proxies' code is compiled at its
    /// final tier as a serving proxy's would be, then <see cref="Settle"/> idle so that what the burst left behind
    /// (a grown heap, spans still being exported) is done with before anything is measured.
    /// </summary>
    private static async Task WarmAsync(BenchContext context, string wrk, IReadOnlyList<(string Name, int Port)> paths, CancellationToken cancellation)
    {
        if (context.Options.Warmup <= TimeSpan.Zero) return;
        foreach (var (name, port) in paths)
        {
            var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}{Path}");
            await WrkRunner.RunAsync(wrk, url, 1, ConnectionCounts[0], context.Options.Warmup, null, cancellation);
            context.Log.WriteLine($"sidecar: {name,-7} warmed with wrk -c {ConnectionCounts[0]} for {Seconds(context.Options.Warmup)} s");
        }
        await Task.Delay(Settle, cancellation);
    }

    private static Task WarmAsync(BenchContext context, string wrk, IProxyPair[] pairs, CancellationToken cancellation) =>
        WarmAsync(context, wrk, pairs.Select(p => (p.Name, p.EntryPort)).ToArray(), cancellation);

    /// <summary>wrk at each connection count after a discarded warm-up run: 2xx requests per second and wrk's p99.</summary>
    private static async Task<(double[] Rps, double[] P99)> ThroughputAsync(BenchContext context, string wrk, string name, int port, CancellationToken cancellation)
    {
        var options = context.Options;
        var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}{Path}");
        var rps = new double[ConnectionCounts.Length];
        var p99 = new double[ConnectionCounts.Length];
        for (var i = 0; i < ConnectionCounts.Length; i++)
        {
            var connections = ConnectionCounts[i];
            if (options.Warmup > TimeSpan.Zero) await WrkRunner.RunAsync(wrk, url, 1, connections, options.Warmup, null, cancellation);
            var run = await WrkRunner.RunAsync(wrk, url, 1, connections, options.Duration, null, cancellation);
            if (run.Requests == 0 || run.Non2xx == run.Requests)
                throw new BenchmarkSetupException($"{name}: wrk got no successful answer from {url}:\n{run.Output}");
            // Only successful answers count: a proxy that fails fast must not look fast.
            rps[i] = run.RequestsPerSecond * (run.Requests - run.Non2xx) / run.Requests;
            p99[i] = run.P99Ms;
            context.Log.WriteLine($"sidecar: {name,-7} wrk -c {connections,3}: {rps[i],9:#,0} req/s, p50 {run.P50Ms:0.00} ms, p99 {run.P99Ms:0.00} ms" +
                (run.Non2xx + run.SocketErrors > 0 ? $", {run.Non2xx:#,0} non-2xx, {run.SocketErrors:#,0} socket errors" : ""));
        }
        return (rps, p99);
    }

    /// <summary>One open-loop run at the constant rate: <paramref name="warmup"/> discarded, then <paramref name="duration"/> measured.</summary>
    private static async Task<LatencyResult> LatencyAsync(BenchContext context, string name, int port, TimeSpan warmup, TimeSpan duration, CancellationToken cancellation)
    {
        var latency = await OpenLoopGenerator.RunAsync(new IPEndPoint(IPAddress.Loopback, port), Path, Rate, OpenLoopConnections, warmup, duration, cancellation);
        context.Log.WriteLine($"sidecar: {name,-7} {Rate:#,0} req/s for {Seconds(duration)} s: p50 {latency.P50Ms:0.000} ms, p99 {latency.P99Ms:0.000} ms, " +
            $"p99.9 {latency.P999Ms:0.000} ms, max {latency.MaxMs:0.0} ms, {latency.Failed:#,0} failed of {latency.Scheduled:#,0}");
        return latency;
    }

    /// <summary>
    /// The two pairs' latency runs in alternating order (a b b a a b b a ...), each pair getting one and a half times
    /// the latency duration split into rounds of about <see cref="RoundLength"/>; the first round of each pair is preceded by the
    /// full warm-up, later ones by a second. Returns each round's result and how many requests it sent in all.
    /// </summary>
    private static async Task<(List<(LatencyResult Latency, long Sent)> A, List<(LatencyResult Latency, long Sent)> B)> AlternatingLatencyAsync(
        BenchContext context, IProxyPair a, IProxyPair b, CancellationToken cancellation)
    {
        // Three times a lone path's latency run: the difference sought is a tenth of a p99 that moves by more than
        // that from one 5 s round to the next, so it takes more rounds to see through the machine's noise.
        var total = LatencyDuration(context.Options) * 1.5;
        var rounds = Math.Max(2, (int)Math.Round(total / RoundLength));
        var round = total / rounds;
        var runsA = new List<(LatencyResult, long)>();
        var runsB = new List<(LatencyResult, long)>();
        for (var i = 0; i < rounds; i++)
        {
            var order = i % 2 == 0 ? new[] { (a, runsA), (b, runsB) } : [(b, runsB), (a, runsA)];
            foreach (var (pair, runs) in order)
            {
                var warmup = runs.Count == 0 ? LatencyWarmup(context.Options) : TimeSpan.FromSeconds(1);
                var latency = await LatencyAsync(context, pair.Name, pair.EntryPort, warmup, round, cancellation);
                runs.Add((latency, (long)((warmup + round).TotalSeconds * Rate)));
            }
        }
        return (runsA, runsB);
    }

    /// <summary>
    /// Resident memory once the load is over and the proxies have sat idle: what a sidecar costs a host at rest,
    /// after its pools, caches and JIT have seen traffic.
    /// </summary>
    private static async Task<(string, long, int)[]> IdleRssAsync(ChildProcess[] proxies, CancellationToken cancellation)
    {
        if (proxies.Length == 0) return [];
        await Task.Delay(Idle, cancellation);
        return proxies.Select(p => (p.Label, p.RssBytes(), ProcFs.Threads(p.Pid))).ToArray();
    }

    private static List<Figure> Figures(PathFigures direct, PathFigures? haproxy, PathFigures? mesh, PathFigures? traced)
    {
        var figures = new List<Figure>();
        for (var i = 0; i < ConnectionCounts.Length; i++)
        {
            var c = ConnectionCounts[i];
            figures.Add(new Figure($"direct to the app, wrk -c {c}", $"direct_c{c}_rps", direct.RequestsPerSecond[i], "req/s"));
            figures.Add(new Figure($"through haproxy pair, wrk -c {c}", $"haproxy_c{c}_rps", haproxy?.RequestsPerSecond[i] ?? double.NaN, "req/s"));
            figures.Add(new Figure($"through mesh pair, wrk -c {c}", $"mesh_c{c}_rps", mesh?.RequestsPerSecond[i] ?? double.NaN, "req/s"));
            figures.Add(new Figure($"through mesh pair with tracing, wrk -c {c}", $"traced_c{c}_rps", traced?.RequestsPerSecond[i] ?? double.NaN, "req/s"));
            figures.Add(new Figure($"mesh / haproxy throughput, -c {c}", $"ratio_c{c}",
                haproxy is null || mesh is null ? double.NaN : mesh.RequestsPerSecond[i] / haproxy.RequestsPerSecond[i], "x",
                new Target(TargetKind.AtLeast, TargetRatio)));
        }

        foreach (var (name, path) in new[] { ("direct", direct), ("haproxy", haproxy), ("mesh", mesh), ("traced", traced) })
        {
            var label = name switch { "direct" => "direct", "traced" => "mesh pair with tracing", _ => $"{name} pair" };
            figures.Add(new Figure($"{label}, p50 at {Rate:#,0} req/s", $"{name}_p50_ms", path?.Latency.P50Ms ?? double.NaN, "ms"));
            figures.Add(new Figure($"{label}, p99 at {Rate:#,0} req/s", $"{name}_p99_ms", path?.Latency.P99Ms ?? double.NaN, "ms"));
            figures.Add(new Figure($"{label}, p99.9 at {Rate:#,0} req/s", $"{name}_p999_ms", path?.Latency.P999Ms ?? double.NaN, "ms"));
        }
        figures.Add(new Figure("haproxy pair, added p99", "haproxy_added_p99_ms",
            haproxy is null ? double.NaN : haproxy.Latency.P99Ms - direct.Latency.P99Ms, "ms"));
        figures.Add(new Figure("mesh pair, added p99", "mesh_added_p99_ms",
            mesh is null ? double.NaN : mesh.Latency.P99Ms - direct.Latency.P99Ms, "ms", new Target(TargetKind.AtMost, TargetAddedP99Ms)));
        figures.Add(new Figure("tracing added p99 (traced - untraced mesh pair) / untraced", "tracing_added_p99_pct",
            mesh is null || traced is null ? double.NaN : (traced.Latency.P99Ms - mesh.Latency.P99Ms) / mesh.Latency.P99Ms * 100, "%",
            new Target(TargetKind.AtMost, TargetTracingAddedP99Percent)));
        figures.Add(new Figure($"tracing: spans at the sink for the {Rate:#,0} req/s run", "traced_spans",
            traced?.Spans?.Received ?? double.NaN, "spans"));
        figures.Add(new Figure($"tracing: spans expected ({SpansPerRequest} per request)", "traced_spans_expected",
            traced?.Spans is { } expected ? expected.Requests * SpansPerRequest : double.NaN, "spans"));

        figures.Add(new Figure("haproxy outbound, idle RSS", "haproxy_outbound_rss_mb", Rss(haproxy, 0), "MB"));
        figures.Add(new Figure("haproxy inbound, idle RSS", "haproxy_inbound_rss_mb", Rss(haproxy, 1), "MB"));
        figures.Add(new Figure("mesh sidecar for web, idle RSS", "mesh_outbound_rss_mb", Rss(mesh, 0), "MB", new Target(TargetKind.Below, TargetRssMb)));
        figures.Add(new Figure("mesh sidecar for api, idle RSS", "mesh_inbound_rss_mb", Rss(mesh, 1), "MB", new Target(TargetKind.Below, TargetRssMb)));
        return figures;

        static double Rss(PathFigures? path, int index) =>
            path is null || path.Processes.Length <= index ? double.NaN : path.Processes[index].RssBytes / (1024.0 * 1024.0);
    }

    private static IEnumerable<string> TracingNotes(PathFigures? mesh, PathFigures? traced)
    {
        if (traced is null) yield break;
        if (mesh?.Rounds is { } meshRounds && traced.Rounds is { } tracedRounds)
        {
            yield return $"untraced and traced pair run side by side, their {Rate:#,0} req/s rounds alternating (untraced, traced, traced, untraced, ...); " +
                         "the p99s above pool every round's requests. p99 per round, untraced / traced: " +
                         string.Join(", ", meshRounds.Zip(tracedRounds, (m, t) => $"{m:0.00}/{t:0.00} ms")) +
                         $"; median of the rounds' p99s {Median(meshRounds):0.00}/{Median(tracedRounds):0.00} ms " +
                         $"({(Median(tracedRounds) - Median(meshRounds)) / Median(meshRounds) * 100:+0;-0} %)";
        }
        yield return "traced pair: both sidecars with -tracing-sample-ratio 1 (every request recorded), the web sidecar exporting Zipkin v2 JSON " +
                     "and the api sidecar OTLP/HTTP protobuf to a sink in a process of its own (at nice 19, standing in for a collector on other cores), " +
                     "batching as the sidecars default to (64 spans or 100 ms) unless OTEL_BSP_* variables say otherwise";
        if (traced.Spans is { } spans)
        {
            yield return $"traced pair: {spans.Received:#,0} spans arrived for the {Rate:#,0} req/s run's {spans.Requests:#,0} requests " +
                         $"({spans.Received / (double)Math.Max(1, spans.Requests * SpansPerRequest):P1} of {SpansPerRequest} per request)";
        }
    }

    private static IEnumerable<string> ProcessNotes(PathFigures? path)
    {
        if (path is null) yield break;
        yield return $"{path.Name} processes: " + string.Join(", ", path.Processes.Select(p => $"{p.Label} {p.Threads} threads"));
        yield return $"{path.Name} wrk p99: " + string.Join(", ", ConnectionCounts.Select((c, i) => $"-c {c} {path.WrkP99Ms[i]:0.00} ms"));
    }

    private static IEnumerable<string> LatencyNotes(PathFigures? path)
    {
        if (path is null) yield break;
        var l = path.Latency;
        yield return $"{path.Name} at {Rate:#,0} req/s: {l.Scheduled:#,0} requests, {l.Failed:#,0} failed, max {l.MaxMs:0.00} ms, " +
                     $"worst send delay behind schedule {l.MaxSendDelayMs:0.00} ms" + (l.FirstError is null ? "" : $"; first error: {l.FirstError}");
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
}
