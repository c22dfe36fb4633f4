using Mesh.Benchmarks.Wrk;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// Read throughput of the KV API: 64 keep-alive connections fetching one ~100-byte key. This is the path every
/// Consul client's config lookup takes, and it exercises HTTP parsing, the immutable state read and JSON encoding.
/// </summary>
internal sealed class KvGetScenario : IScenario
{
    private const string Key = "bench/key";
    private const double TargetPerSecond = 25_000;

    public string Name => "kv-get";

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        // A fixed 100-byte value, the size of a typical feature flag or connection string.
        await context.Api.PutAsync(Key, new string('v', 100), cancellation);
        await context.Api.GetIndexAsync(Key, cancellation); // fails early with a clear message if reads do not work
        return await WrkMeasurement.RunAsync(context, Name, $"/v1/kv/{Key}", script: null, TargetPerSecond, cancellation);
    }
}
