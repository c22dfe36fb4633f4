using System.Diagnostics;
using System.Text.Json;
using Mesh.Connect.DiscoveryChain;
using Mesh.Connect.Entries;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// Discovery-chain compilation in this process: a service with a 10-route router, a 5-way splitter and a resolver of
/// 5 subsets (with failover), compiled over and over for the run's duration on one thread. What every change to a
/// service's config entries costs each proxy that watches the chain.
/// </summary>
internal sealed class DiscoveryChainScenario : IScenario
{
    private const double TargetMs = 1;

    public string Name => "discovery-chain";

    public Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        var entries = new ChainEntries(Entries().Select(json => EntryCodec.Read(JsonDocument.Parse(json).RootElement)));
        var request = new ChainRequest("web", "dc1", "11111111-2222-3333-4444-555555555555.consul");
        var chain = ChainCompiler.Compile(request, entries);
        if (chain.Nodes["router:web"].Routes!.Count != 11 || chain.Nodes["splitter:web"].Splits!.Count != 5)
            throw new InvalidOperationException("the benchmark chain did not compile to the expected shape");
        for (var i = 0; i < 1000; i++) ChainCompiler.Compile(request, entries);

        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed < context.Options.Duration && !cancellation.IsCancellationRequested)
        {
            var one = Stopwatch.GetTimestamp();
            ChainCompiler.Compile(request, entries);
            samples.Add(Stopwatch.GetElapsedTime(one).TotalMilliseconds);
        }
        samples.Sort();
        double P(double q) => samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(q * samples.Count) - 1)];
        return Task.FromResult(new ScenarioResult(Name,
        [
            new Figure("compile, p50", "compile_p50_ms", P(0.50), "ms"),
            new Figure("compile, p99", "compile_p99_ms", P(0.99), "ms", new Target(TargetKind.Below, TargetMs)),
            new Figure("compiles per second, one thread", "compiles_per_s", samples.Count / total.Elapsed.TotalSeconds, "/s"),
        ],
        [$"{samples.Count:#,0} compilations of a chain with {chain.Nodes.Count} nodes and {chain.Targets.Count} targets"]));
    }

    private static IEnumerable<string> Entries()
    {
        yield return """{"Kind":"service-defaults","Name":"web","Protocol":"http"}""";
        var subsets = string.Join(',', Enumerable.Range(1, 5).Select(i => $"\"v{i}\":{{\"Filter\":\"Service.Meta.version == v{i}\"}}"));
        yield return "{\"Kind\":\"service-resolver\",\"Name\":\"web\",\"DefaultSubset\":\"v1\",\"Subsets\":{" + subsets +
            "},\"Failover\":{\"*\":{\"Datacenters\":[\"dc2\",\"dc3\"]}}}";
        var splits = string.Join(',', Enumerable.Range(1, 5).Select(i => $"{{\"Weight\":20,\"ServiceSubset\":\"v{i}\"}}"));
        yield return $$"""{"Kind":"service-splitter","Name":"web","Splits":[{{splits}}]}""";
        var routes = string.Join(',', Enumerable.Range(1, 10).Select(i =>
            $"{{\"Match\":{{\"HTTP\":{{\"PathPrefix\":\"/r{i}\",\"Header\":[{{\"Name\":\"x-r\",\"Exact\":\"{i}\"}}]}}}},\"Destination\":{{\"ServiceSubset\":\"v{i % 5 + 1}\",\"NumRetries\":2}}}}"));
        yield return $$"""{"Kind":"service-router","Name":"web","Routes":[{{routes}}]}""";
    }
}
