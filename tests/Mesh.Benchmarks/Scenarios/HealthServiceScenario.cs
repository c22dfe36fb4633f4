using Mesh.Benchmarks.Wrk;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// Read throughput of <c>GET /v1/health/service/big?passing</c> for a service of 1,000 instances, each on its own
/// node with a passing check: the query discovery clients and load balancers poll. 64 connections, wrk.
/// </summary>
internal sealed class HealthServiceScenario : IScenario
{
    private const double TargetPerSecond = 5_000;
    private const int Instances = 1_000;

    public string Name => "health-service";

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        context.Log.WriteLine($"{Name}: registering {Instances:#,0} instances of 'big'");
        await Parallel.ForEachAsync(Enumerable.Range(0, Instances), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellation },
            async (i, ct) => await context.Api.PutJsonAsync("/v1/catalog/register", $$$"""
                {"Node":"big-node-{{{i}}}","Address":"10.8.{{{i / 250}}}.{{{i % 250}}}",
                 "Service":{"Service":"big","ID":"big-{{{i}}}","Port":9000,"Tags":["primary"]},
                 "Check":{"CheckID":"big-chk-{{{i}}}","Name":"alive","ServiceID":"big-{{{i}}}","Status":"passing"}}
                """, ct));
        var body = await context.Api.GetStringAsync("/v1/health/service/big?passing", cancellation);
        context.Log.WriteLine($"{Name}: one answer is {body.Length / 1024.0:#,0} KiB");
        // Go's HTTP client (so Consul's API client, consul-template, Envoy's control-plane tooling) asks for gzip by
        // default and the agent answers compressed, as Consul does: that is the measured case. Plain JSON is shown beside it.
        var gzip = await WrkMeasurement.RunAsync(context, Name, "/v1/health/service/big?passing", null, TargetPerSecond, cancellation,
            ["Accept-Encoding: gzip"]);
        var plain = await WrkMeasurement.RunAsync(context, Name + " (plain)", "/v1/health/service/big?passing", null, null, cancellation);
        Figure Rename(Figure f, string label, string key) => f with { Label = label, Key = key };
        return gzip with
        {
            Figures =
            [
                .. gzip.Figures.Select(f => Rename(f, f.Label + ", gzip", "gzip_" + f.Key)),
                .. plain.Figures.Select(f => Rename(f, f.Label + ", plain JSON", "plain_" + f.Key)),
                new Figure("response size, plain JSON", "response_kib", body.Length / 1024.0, "KiB"),
            ],
            Notes = [.. gzip.Notes, .. plain.Notes],
        };
    }
}
