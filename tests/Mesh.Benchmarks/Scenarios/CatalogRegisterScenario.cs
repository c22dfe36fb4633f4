using Mesh.Benchmarks.Wrk;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// Write throughput of <c>PUT /v1/catalog/register</c>: 64 connections registering instances (each with a check)
/// over 500 nodes and 5,000 services (<c>Wrk/catalog-register.lua</c>), every body a real change. Each request goes
/// through JSON validation, the replicated log and the FSM's node, service and check writes.
/// </summary>
internal sealed class CatalogRegisterScenario : IScenario
{
    private const double TargetPerSecond = 5_000;

    public string Name => "catalog-register";

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        // The script registers with SkipNodeUpdate, so the nodes must exist first; this also proves the endpoint
        // answers before wrk starts counting.
        for (var node = 0; node < 500; node++)
        {
            await context.Api.PutJsonAsync("/v1/catalog/register",
                $$"""{"Node":"bench-node-{{node}}","Address":"10.9.{{node / 250}}.{{node % 250}}"}""", cancellation);
        }
        return await WrkMeasurement.RunAsync(context, Name, "/v1/catalog/register", "catalog-register.lua", TargetPerSecond, cancellation);
    }
}
