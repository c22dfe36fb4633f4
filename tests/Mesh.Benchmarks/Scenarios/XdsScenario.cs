using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// Many concurrent ADS streams on one dev agent: <c>--streams</c> distinct sidecar proxies (10,000 by default), each
/// with the same upstream <c>backend</c> (three instances behind sidecars), are registered on the agent; a load
/// generator process opens one Envoy-like state-of-the-world stream per proxy and ACKs everything. Then, over several
/// rounds, one backend sidecar's check fails and passes again; the figure is how long each stream took to receive and
/// ACK the changed load assignment, measured in the load generator from just before the change was written, in the
/// worst round. Also reported: the agent's resident memory per stream.
/// </summary>
internal sealed class XdsScenario : IScenario
{
    private const double TargetP99Ms = 1000;
    private const int Backends = 3;
    private const int DestinationServices = 100;
    private const string Prefix = "xds-bench-proxy-";
    private const int Rounds = 5;

    public string Name => "xds";

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        var streams = context.Options.Streams;
        var agent = context.Agent;
        using var http = new HttpClient { BaseAddress = agent.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        for (var i = 0; i < Backends; i++)
        {
            await Put(http, new { Name = "backend", ID = $"backend-{i}", Port = 7000 + i }, cancellation);
            await Put(http, new
            {
                Name = "backend-sidecar-proxy", ID = $"backend-{i}-sidecar-proxy", Kind = "connect-proxy", Port = 21000 + i,
                Proxy = new { DestinationServiceName = "backend", DestinationServiceID = $"backend-{i}", LocalServicePort = 7000 + i },
                Check = new { CheckID = $"backend-{i}-alive", TTL = "1h", Status = "passing" },
            }, cancellation);
        }

        var registering = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, streams), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellation },
            async (i, ct) => await Put(http, new
            {
                Name = $"app-{i % DestinationServices}-sidecar-proxy", ID = Prefix + i, Kind = "connect-proxy", Port = 30000 + i % 30000,
                Proxy = new
                {
                    DestinationServiceName = $"app-{i % DestinationServices}", LocalServicePort = 8080,
                    Upstreams = new[] { new { DestinationName = "backend", LocalBindPort = 9000 } },
                },
            }, ct));
        context.Log.WriteLine($"  registered {streams:#,0} proxies in {registering.Elapsed.TotalSeconds:0.0} s");
        await Task.Delay(TimeSpan.FromSeconds(2), cancellation);
        GC.Collect();
        var rssBefore = agent.RssBytes();

        using var generator = StartGenerator(agent, streams);
        try
        {
            var ready = await ReadJson(generator, TimeSpan.FromMinutes(6), cancellation);
            var readyCount = ready.GetProperty("ready").GetInt32();
            var readySeconds = ready.GetProperty("seconds").GetDouble();
            context.Log.WriteLine($"  {readyCount:#,0} streams ready in {readySeconds:0.0} s (failed: {ready.GetProperty("failed").GetInt32()}" +
                (ready.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? $", first error: {e.GetString()}" : "") + ")");
            await Task.Delay(TimeSpan.FromSeconds(2), cancellation);
            var rssAfter = agent.RssBytes();

            // Rounds alternate: backend-0's check fails (two healthy left), then passes again (three).
            var rounds = new List<(int Updated, double P50, double P99, double Max)>();
            for (var round = 0; round < Rounds; round++)
            {
                var failing = round % 2 == 0;
                await generator.StandardInput.WriteLineAsync($"go {(failing ? Backends - 1 : Backends)}");
                await generator.StandardInput.FlushAsync(cancellation);
                await ReadJson(generator, TimeSpan.FromSeconds(30), cancellation);
                (await http.PutAsync($"/v1/agent/check/{(failing ? "fail" : "pass")}/backend-0-alive", null, cancellation)).EnsureSuccessStatusCode();
                var r = await ReadJson(generator, TimeSpan.FromMinutes(2), cancellation);
                rounds.Add((r.GetProperty("updated").GetInt32(), r.GetProperty("p50_ms").GetDouble(), r.GetProperty("p99_ms").GetDouble(),
                    r.GetProperty("max_ms").GetDouble()));
                context.Log.WriteLine($"  round {round + 1}: {rounds[^1].Updated:#,0} updated, p50 {rounds[^1].P50:0} ms, p99 {rounds[^1].P99:0} ms, " +
                    $"all {rounds[^1].Max:0} ms (generator GC pauses {r.GetProperty("generator_gc_pause_ms").GetDouble():0} ms)");
                await Task.Delay(TimeSpan.FromSeconds(1), cancellation);
            }
            var updated = rounds.Min(r => r.Updated);
            var worst = rounds.MaxBy(r => r.P99);

            return new ScenarioResult(Name,
            [
                new Figure("streams ready", "streams_ready", readyCount, "", new Target(TargetKind.AtLeast, streams)),
                new Figure("time until every stream had its first assignment", "ready_s", readySeconds, "s"),
                new Figure("streams that received and ACKed every update", "streams_updated", updated, "", new Target(TargetKind.AtLeast, streams)),
                new Figure("update received and ACKed, p50 (worst round)", "update_p50_ms", worst.P50, "ms"),
                new Figure("update received and ACKed, p99 (worst round)", "update_p99_ms", worst.P99, "ms",
                    new Target(TargetKind.AtMost, TargetP99Ms)),
                new Figure("update received and ACKed, all streams (worst round)", "update_max_ms", worst.Max, "ms"),
                new Figure("agent memory per stream", "rss_per_stream_kib", (rssAfter - rssBefore) / 1024.0 / Math.Max(1, readyCount), "KiB"),
            ],
            [
                $"{streams:#,0} connect-proxy registrations (upstream backend, {DestinationServices} destination services), " +
                $"{Backends} backend sidecars; one load generator process with 20 HTTP/2 connections; {Rounds} rounds, each failing or " +
                $"passing one backend sidecar's check; agent RSS {rssBefore / 1048576.0:0} MiB before the streams, {rssAfter / 1048576.0:0} MiB with them",
            ]);
        }
        finally
        {
            if (!generator.HasExited) generator.Kill(entireProcessTree: true);
        }
    }

    private static async Task Put(HttpClient http, object body, CancellationToken ct)
    {
        using var response = await http.PutAsJsonAsync("/v1/agent/service/register", body, ct);
        if (!response.IsSuccessStatusCode)
            throw new BenchmarkSetupException($"registering a service failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    private static Process StartGenerator(AgentProcess agent, int streams)
    {
        var self = Path.Combine(AppContext.BaseDirectory, "Mesh.Benchmarks.dll");
        var info = new ProcessStartInfo(AgentProcess.DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // Ten thousand proxies would be ten thousand processes with small heaps of their own; one process standing in
        // for them gets a young generation big enough that its collections do not pause every stream at once.
        info.Environment["DOTNET_GCgen0size"] = "0x20000000";
        foreach (var a in new[] { self, "xds-load", "--grpc", $"http://{agent.GrpcEndPoint}", "--prefix", Prefix, "--streams",
                     streams.ToString(System.Globalization.CultureInfo.InvariantCulture), "--channels", "20" })
            info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new BenchmarkSetupException("could not start the xDS load generator");
    }

    private static async Task<JsonElement> ReadJson(Process generator, TimeSpan timeout, CancellationToken ct)
    {
        var line = await generator.StandardOutput.ReadLineAsync(ct).AsTask().WaitAsync(timeout, ct)
            ?? throw new BenchmarkSetupException("the xDS load generator exited early");
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.Clone();
    }
}
