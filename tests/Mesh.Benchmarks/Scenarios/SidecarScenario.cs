using System.Globalization;
using System.Net;
using Mesh.Benchmarks.Infrastructure;
using Mesh.Benchmarks.Sidecar;
using Mesh.Benchmarks.Wrk;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// The sidecar data path against HAProxy: load client → local proxy (plain HTTP/1.1) → mutual TLS → remote proxy →
/// app, built once with two HAProxy processes and once with two Mesh sidecars driven by the agent over xDS, plus the
/// client straight to the app for reference. The app is nginx with one worker. For each path: wrk throughput at two
/// connection counts, latency at a constant 1,000 requests/s from an open-loop generator (the added p99 is the pair's
/// minus the direct one), and each proxy's resident memory after the load and a few seconds idle. Then the Mesh pair
/// once more with tracing on at 100 % sampling, exporting to a sink in a process of its own (the web sidecar as Zipkin JSON,
/// the api sidecar as OTLP/HTTP), measured the same way: what tracing adds to the p99 at 1,000 requests/s, and a
/// count of the spans that arrived for that run.
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

    public string Name => "sidecar";

    /// <summary>Everything measured on one path (direct, or through one pair).</summary>
    private sealed record PathFigures(string Name, double[] RequestsPerSecond, double[] WrkP99Ms, LatencyResult Latency,
        (string Label, long RssBytes, int Threads)[] Processes)
    {
        /// <summary>For the traced pair: spans that arrived for the 1,000 req/s run, and how many requests it sent.</summary>
        public (long Received, long Requests)? Spans { get; init; }
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

            PathFigures? meshFigures = null;
            try
            {
                await using var pair = await MeshPair.StartAsync(context.Agent, context.Api, System.IO.Path.Combine(directory, "mesh"), app.Port, "warn", null, cancellation);
                log.WriteLine($"sidecar: mesh pair, web sidecar pid {pair.Outbound.Pid} (upstream api on 127.0.0.1:{pair.EntryPort}), api sidecar pid {pair.Inbound.Pid}");
                await CheckPathAsync(pair, cancellation);
                meshFigures = await MeasureAsync(context, wrk, pair.Name, pair.EntryPort, [pair.Outbound, pair.Inbound], cancellation);
            }
            catch (BenchmarkSetupException e)
            {
                errors.Add($"the Mesh sidecar pair could not be measured: {e.Message}");
            }

            // Right after the untraced pair, under the same conditions: the same pair with every request traced.
            PathFigures? tracedFigures = null;
            try
            {
                await using var sink = await SpanSink.StartAsync(cancellation);
                await using var pair = await MeshPair.StartAsync(context.Agent, context.Api, System.IO.Path.Combine(directory, "traced"), app.Port, "warn",
                    sink.BaseAddress, cancellation);
                log.WriteLine($"sidecar: traced mesh pair, web sidecar pid {pair.Outbound.Pid} (Zipkin), api sidecar pid {pair.Inbound.Pid} (OTLP/HTTP), " +
                    $"spans to {sink.BaseAddress}");
                await CheckPathAsync(pair, cancellation);
                tracedFigures = await MeasureAsync(context, wrk, pair.Name, pair.EntryPort, [pair.Outbound, pair.Inbound], cancellation, sink);
                var counts = await sink.CountsAsync(cancellation);
                if (tracedFigures.Spans is { Received: 0 })
                    errors.Add($"the traced pair exported no span to the sink ({counts.Received:#,0} spans in all, {counts.Rejected:#,0} requests refused); " +
                               $"{pair.Outbound.Describe()}; {pair.Inbound.Describe()}");
            }
            catch (BenchmarkSetupException e)
            {
                errors.Add($"the traced Mesh sidecar pair could not be measured: {e.Message}");
            }

            return new ScenarioResult(Name, Figures(direct, haproxyFigures, meshFigures, tracedFigures),
                [.. notes, .. TracingNotes(tracedFigures), .. ProcessNotes(haproxyFigures), .. ProcessNotes(meshFigures), .. ProcessNotes(tracedFigures),
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
    /// Throughput with wrk, then latency at the constant rate, then idle RSS. With a <paramref name="sink"/>, also the
    /// spans that arrived for the constant-rate run: those that started after it began, awaited until all its requests'
    /// spans are in or none has come for longer than the exporters' batch delay.
    /// </summary>
    private static async Task<PathFigures> MeasureAsync(BenchContext context, string wrk, string name, int port, ChildProcess[] proxies,
        CancellationToken cancellation, SpanSink? sink = null)
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

        if (sink is not null) await sink.CountFromAsync(DateTime.UtcNow, cancellation);
        var latency = await OpenLoopGenerator.RunAsync(new IPEndPoint(IPAddress.Loopback, port), Path, Rate, OpenLoopConnections,
            LatencyWarmup(options), LatencyDuration(options), cancellation);
        context.Log.WriteLine($"sidecar: {name,-7} {Rate:#,0} req/s: p50 {latency.P50Ms:0.000} ms, p99 {latency.P99Ms:0.000} ms, " +
            $"p99.9 {latency.P999Ms:0.000} ms, max {latency.MaxMs:0.0} ms, {latency.Failed:#,0} failed of {latency.Scheduled:#,0}");
        (long, long)? spans = null;
        if (sink is not null)
        {
            // Warm-up and measured requests alike: every request of the run makes its spans.
            var requests = (long)((LatencyWarmup(options) + LatencyDuration(options)).TotalSeconds * Rate);
            var received = await sink.WaitForAsync(requests * SpansPerRequest, quiet: TimeSpan.FromSeconds(7), timeout: TimeSpan.FromSeconds(30), cancellation);
            spans = (received, requests);
            var counts = await sink.CountsAsync(cancellation);
            context.Log.WriteLine($"sidecar: {name,-7} spans at the sink (pid {sink.Process.Pid}) for the {Rate:#,0} req/s run: {received:#,0} of {requests * SpansPerRequest:#,0} " +
                $"({SpansPerRequest} per request); {counts.Received:#,0} in all, {counts.Rejected:#,0} requests refused");
        }

        var processes = Array.Empty<(string, long, int)>();
        if (proxies.Length > 0)
        {
            // Resident memory once the load is over and the proxies have sat idle: what a sidecar costs a host at rest,
            // after its pools, caches and JIT have seen traffic.
            await Task.Delay(Idle, cancellation);
            processes = proxies.Select(p => (p.Label, p.RssBytes(), ProcFs.Threads(p.Pid))).ToArray();
        }
        return new PathFigures(name, rps, p99, latency, processes) { Spans = spans };
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

    private static IEnumerable<string> TracingNotes(PathFigures? traced)
    {
        if (traced is null) yield break;
        yield return "traced pair: both sidecars with -tracing-sample-ratio 1 (every request recorded), the web sidecar exporting Zipkin v2 JSON " +
                     "and the api sidecar OTLP/HTTP protobuf to a sink in a process of its own, with the default batching (512 spans or 5 s)";
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

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);
}
