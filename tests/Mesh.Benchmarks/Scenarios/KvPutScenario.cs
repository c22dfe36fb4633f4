using Mesh.Benchmarks.Wrk;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// Write throughput of the KV API: 64 keep-alive connections each PUTting ~100-byte values over 1,000 keys
/// (<c>Wrk/kv-put.lua</c>). Every write goes through the replicated log and the FSM, as in a real server, so this
/// measures the whole write path, not a dictionary insert.
/// </summary>
internal sealed class KvPutScenario : IScenario
{
    private const double TargetPerSecond = 8_000;

    public string Name => "kv-put";

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        // One PUT by hand first, so a broken write path fails here with the agent's answer instead of as wrk's
        // "Non-2xx" count.
        await context.Api.PutAsync("bench/put/0", "probe", cancellation);
        return await WrkMeasurement.RunAsync(context, Name, "/v1/kv/bench/put/0", "kv-put.lua", TargetPerSecond, cancellation);
    }
}
