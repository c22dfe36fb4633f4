using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Mesh.Xds.Grpc;

namespace Mesh.Benchmarks.Xds;

/// <summary>
/// The xDS benchmark's load generator, run as its own process (<c>Mesh.Benchmarks xds-load ...</c>) so that its CPU
/// and memory are not the agent's: it opens one state-of-the-world ADS stream per proxy, each behaving as Envoy does
/// (CDS and LDS wildcard, then EDS for the EDS clusters and SDS for the secrets the clusters name, every response
/// ACKed), and reports on stdout:
/// <list type="bullet">
/// <item><c>{"ready":N,"seconds":S}</c> once every stream has received and ACKed its first load assignments;</item>
/// <item>for each line <c>go &lt;healthy&gt;</c> on stdin: <c>{"started":true}</c> once the clock runs (the caller then makes
/// the change), and <c>{"updated":N,"p50_ms":..,"p99_ms":..,"max_ms":..}</c>, where a stream counts as updated when it has
/// ACKed an assignment with exactly &lt;healthy&gt; healthy endpoints, timed from just before "started" was printed.</item>
/// </list>
/// </summary>
internal static class XdsLoadGenerator
{
    private const string Method = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";

    public static async Task<int> RunAsync(string[] args)
    {
        var grpc = new Uri(Arg(args, "--grpc"));
        var prefix = Arg(args, "--prefix");
        var count = int.Parse(Arg(args, "--streams"));
        var connections = int.Parse(Arg(args, "--channels"));
        var channels = Enumerable.Range(0, connections).Select(_ => new GrpcChannel(grpc)).ToArray();
        var streams = Enumerable.Range(0, count).Select(i => new ProxyStream($"{prefix}{i}")).ToArray();
        using var stop = new CancellationTokenSource();

        var started = Stopwatch.StartNew();
        var runs = streams.Select((s, i) => Task.Run(() => s.RunAsync(channels[i % channels.Length], stop.Token))).ToArray();
        var ready = await WhenAllAsync(streams.Select(s => s.Ready.Task), TimeSpan.FromMinutes(5));
        Console.WriteLine(JsonSerializer.Serialize(new { ready, seconds = started.Elapsed.TotalSeconds, failed = streams.Count(s => s.Error is not null),
            error = streams.FirstOrDefault(s => s.Error is not null)?.Error }));

        // One measurement per "go" line, until stdin closes.
        while (await Console.In.ReadLineAsync() is { } line && line.StartsWith("go ", StringComparison.Ordinal))
        {
            var healthy = int.Parse(line[3..]);
            // The generator stands in for ten thousand separate proxies, each with its own small heap: its collections
            // are not the agent's doing, so each measurement starts on a clean heap and asks the GC to avoid blocking ones.
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            System.Runtime.GCSettings.LatencyMode = System.Runtime.GCLatencyMode.SustainedLowLatency;
            var pauseBefore = GC.GetTotalPauseDuration();
            var gen2Before = GC.CollectionCount(2);
            var t0 = Stopwatch.GetTimestamp();
            foreach (var s in streams) s.Expect(healthy, t0);
            Console.WriteLine(JsonSerializer.Serialize(new { started = true }));
            var updated = await WhenAllAsync(streams.Select(s => s.Updated.Task), TimeSpan.FromSeconds(60));
            var latencies = streams.Where(s => s.Updated.Task.IsCompletedSuccessfully).Select(s => s.Updated.Task.Result).Order().ToArray();
            double P(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                updated, p50_ms = P(0.5), p99_ms = P(0.99), max_ms = P(1.0),
                // The generator's own garbage-collection pauses during the measurement: time the agent is not to blame for.
                generator_gc_pause_ms = (GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds,
                generator_gen2 = GC.CollectionCount(2) - gen2Before,
            }));
            System.Runtime.GCSettings.LatencyMode = System.Runtime.GCLatencyMode.Interactive;
        }

        await stop.CancelAsync();
        await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
        foreach (var c in channels) c.Dispose();
        return 0;
    }

    private static async Task<int> WhenAllAsync(IEnumerable<Task> tasks, TimeSpan timeout)
    {
        var all = tasks.ToArray();
        await Task.WhenAny(Task.WhenAll(all), Task.Delay(timeout));
        return all.Count(t => t.IsCompletedSuccessfully);
    }

    private static string Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"xds-load needs {name}");
    }

    /// <summary>One proxy's stream, driven the way Envoy drives ADS.</summary>
    private sealed class ProxyStream(string nodeId)
    {
        private readonly Dictionary<string, (string Version, string Nonce, string[] Names)> _acked = new(StringComparer.Ordinal);
        private long _t0;
        private int _expectHealthy = -1;

        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<double> Updated { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public string? Error { get; private set; }

        public void Expect(int healthy, long t0)
        {
            _t0 = t0;
            if (Error is null) Updated = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _expectHealthy, healthy);
        }

        public async Task RunAsync(GrpcChannel channel, CancellationToken ct)
        {
            try
            {
                await using var call = channel.StartDuplex<DiscoveryRequest, DiscoveryResponse>(Method, DiscoveryResponse.Parser,
                    new GrpcCallOptions { CancellationToken = ct });
                var node = new Node { Id = nodeId, Cluster = nodeId, UserAgentName = "envoy" };
                await call.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = Mesh.Xds.Cache.TypeUrls.Cluster }, ct);
                await call.WriteAsync(new DiscoveryRequest { TypeUrl = Mesh.Xds.Cache.TypeUrls.Listener }, ct);
                string[] edsNames = [];
                var sdsAsked = false;
                while (await call.ReadAsync(ct) is { } response)
                {
                    string[] names = [];
                    if (response.TypeUrl == Mesh.Xds.Cache.TypeUrls.Cluster)
                    {
                        var clusters = response.Resources.Select(r => r.Unpack<Cluster>()).ToList();
                        var eds = clusters.Where(c => c.Type == Cluster.Types.DiscoveryType.Eds).Select(c => c.Name).Order().ToArray();
                        // ACK first, then ask for what the clusters need, as Envoy does.
                        await Ack(call, response, names, ct);
                        if (!eds.SequenceEqual(edsNames))
                        {
                            edsNames = eds;
                            await Ask(call, Mesh.Xds.Cache.TypeUrls.Endpoint, eds, ct);
                        }
                        if (!sdsAsked)
                        {
                            sdsAsked = true;
                            await Ask(call, Mesh.Xds.Cache.TypeUrls.Secret, ["leaf", "roots"], ct);
                        }
                        continue;
                    }
                    if (response.TypeUrl == Mesh.Xds.Cache.TypeUrls.Endpoint) names = edsNames;
                    else if (response.TypeUrl == Mesh.Xds.Cache.TypeUrls.Secret) names = ["leaf", "roots"];
                    await Ack(call, response, names, ct);
                    if (response.TypeUrl != Mesh.Xds.Cache.TypeUrls.Endpoint) continue;

                    var healthy = response.Resources.Select(r => r.Unpack<ClusterLoadAssignment>())
                        .SelectMany(a => a.Endpoints).SelectMany(l => l.LbEndpoints)
                        .Count(e => e.HealthStatus is HealthStatus.Healthy or HealthStatus.Unknown);
                    Ready.TrySetResult();
                    var expect = Volatile.Read(ref _expectHealthy);
                    if (expect >= 0 && healthy == expect)
                        Updated.TrySetResult(Stopwatch.GetElapsedTime(_t0).TotalMilliseconds);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                Error = ex.GetType().Name + ": " + ex.Message;
                Ready.TrySetException(ex);
                Updated.TrySetException(ex);
            }
        }

        private async Task Ack(GrpcDuplexCall<DiscoveryRequest, DiscoveryResponse> call, DiscoveryResponse response, string[] names, CancellationToken ct)
        {
            var ack = new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce };
            ack.ResourceNames.AddRange(names);
            _acked[response.TypeUrl] = (response.VersionInfo, response.Nonce, names);
            await call.WriteAsync(ack, ct);
        }

        private async Task Ask(GrpcDuplexCall<DiscoveryRequest, DiscoveryResponse> call, string typeUrl, string[] names, CancellationToken ct)
        {
            var request = new DiscoveryRequest { TypeUrl = typeUrl };
            if (_acked.TryGetValue(typeUrl, out var last))
            {
                request.VersionInfo = last.Version;
                request.ResponseNonce = last.Nonce;
            }
            request.ResourceNames.AddRange(names);
            await call.WriteAsync(request, ct);
        }
    }
}
