using System.Globalization;
using Mesh.Benchmarks.Dnsperf;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// DNS throughput and latency under dnsperf: half SRV questions for a service of 50 healthy instances (each on its own
/// node), half A questions for those 50 nodes, over UDP without EDNS (dnsperf's default, so every SRV answer is cut to
/// udp_answer_limit). One run as fast as answers come back (throughput, lost queries); one paced at the target rate
/// with every answer's latency recorded (p50, p99).
/// </summary>
internal sealed class DnsScenario : IScenario
{
    private const double TargetQps = 50_000;
    private const double TargetP99Ms = 5;
    private const int Instances = 50;

    public string Name => "dns";

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        var dnsperf = DnsperfRunner.Locate();
        context.Log.WriteLine($"{Name}: dnsperf {DnsperfRunner.Version(dnsperf)}; registering {Instances} instances of 'dnsweb'");
        await Parallel.ForEachAsync(Enumerable.Range(0, Instances), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellation },
            async (i, ct) => await context.Api.PutJsonAsync("/v1/catalog/register", $$$"""
                {"Node":"dns-node-{{{i}}}","Address":"10.9.0.{{{i + 1}}}",
                 "Service":{"Service":"dnsweb","ID":"dnsweb-{{{i}}}","Port":{{{8000 + i}}}},
                 "Check":{"CheckID":"dnsweb-chk-{{{i}}}","Name":"alive","ServiceID":"dnsweb-{{{i}}}","Status":"passing"}}
                """, ct));
        var file = Path.Combine(Path.GetTempPath(), $"mesh-dnsperf-{Environment.ProcessId}.txt");
        await File.WriteAllLinesAsync(file, Enumerable.Range(0, Instances)
            .SelectMany(i => new[] { "dnsweb.service.consul SRV", $"dns-node-{i}.node.consul A" }), cancellation);
        try
        {
            var server = context.Agent.DnsEndPoint;
            if (context.Options.Warmup > TimeSpan.Zero)
                await DnsperfRunner.RunAsync(dnsperf, server, file, context.Options.Warmup, 4, 256, 0, false, cancellation);
            var cpuBefore = context.Agent.CpuTicks();
            var started = DateTime.UtcNow;
            var flat = await DnsperfRunner.RunAsync(dnsperf, server, file, context.Options.Duration, 4, 256, 0, false, cancellation);
            var cpu = (context.Agent.CpuTicks() - cpuBefore) / (double)Infrastructure.ProcFs.UserHz / (DateTime.UtcNow - started).TotalSeconds;
            var paced = await DnsperfRunner.RunAsync(dnsperf, server, file, context.Options.Duration, 4, 256, (int)TargetQps, true, cancellation);
            var notes = new List<string>
            {
                $"as fast as possible: {flat.Completed:#,0} of {flat.Sent:#,0} answered ({Codes(flat)}); agent used {cpu * 100:0}% of one core",
                $"paced at {TargetQps:#,0}/s: {paced.Completed:#,0} of {paced.Sent:#,0} answered ({Codes(paced)}), average {paced.AverageMs:0.000} ms, max {paced.MaxMs:0.00} ms",
            };
            if (flat.Rcodes.Keys.Any(k => k != "NOERROR") || paced.Rcodes.Keys.Any(k => k != "NOERROR"))
                notes.Add("WARNING: some answers were not NOERROR; the figures do not measure successful lookups only");
            return new ScenarioResult(Name,
            [
                new Figure("queries/s, unpaced", "qps", flat.QueriesPerSecond, "q/s", new Target(TargetKind.AtLeast, TargetQps)),
                new Figure("lost queries, unpaced", "lost", flat.Lost, "", new Target(TargetKind.AtMost, 0)),
                new Figure($"p50 latency at {TargetQps / 1000:0}k q/s", "paced_p50_ms", paced.P50Ms, "ms"),
                new Figure($"p99 latency at {TargetQps / 1000:0}k q/s", "paced_p99_ms", paced.P99Ms, "ms", new Target(TargetKind.Below, TargetP99Ms)),
                new Figure($"lost queries at {TargetQps / 1000:0}k q/s", "paced_lost", paced.Lost, "", new Target(TargetKind.AtMost, 0)),
            ], notes);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Codes(DnsperfResult r) =>
        string.Join(", ", r.Rcodes.Select(p => $"{p.Key} {p.Value.ToString("#,0", CultureInfo.InvariantCulture)}"));
}
