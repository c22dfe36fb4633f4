using System.Net.Http.Json;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Mesh.Xds.Cache;
using Mesh.Xds.Grpc;
using Mesh.Xds.Hosting;

namespace Mesh.Xds.Tests.EndToEnd;

/// <summary>
/// The incremental protocol (what Envoy uses with Mesh's bootstrap) end to end over the agent's gRPC port: only what
/// changed is sent, and an upstream that goes away arrives as a removal.
/// </summary>
public sealed class DeltaStreamTests
{
    private static async Task Put(HttpClient http, object body) =>
        (await http.PutAsJsonAsync("/v1/agent/service/register", body)).EnsureSuccessStatusCode();

    private static object Proxy(params string[] upstreams) => new
    {
        Name = "web-sidecar-proxy", ID = "web-sidecar-proxy", Kind = "connect-proxy", Port = 21001,
        Proxy = new
        {
            DestinationServiceName = "web", LocalServicePort = 8080,
            Upstreams = upstreams.Select((u, i) => new { DestinationName = u, LocalBindPort = 9000 + i }).ToArray(),
        },
    };

    private static async Task<DeltaDiscoveryResponse> NextAsync(GrpcDuplexCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse> call, string typeUrl)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var response = await call.ReadAsync(timeout.Token) ?? throw new InvalidOperationException("the stream ended");
            // ACK everything, as Envoy does, so the server may send the next version of each type.
            await call.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce });
            if (response.TypeUrl == typeUrl) return response;
        }
    }

    [Fact]
    public async Task DeltaStream_Sidecar_GetsChangesOnlyAndRemovals()
    {
        await using var agent = await AgentProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = agent.BaseAddress };
        foreach (var (service, port) in new[] { ("db", 21010), ("cache", 21011) })
        {
            await Put(http, new
            {
                Name = service + "-sidecar-proxy", ID = service + "-1-sidecar-proxy", Kind = "connect-proxy", Port = port, Address = "127.0.0.1",
                Proxy = new { DestinationServiceName = service, LocalServicePort = 5000 },
                Check = new { CheckID = service + "-alive", TTL = "10m", Status = "passing" },
            });
        }
        await Put(http, Proxy("db", "cache"));
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{agent.GrpcPort}"));
        await using var call = channel.StartDuplex<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(XdsService.DeltaMethod, DeltaDiscoveryResponse.Parser);

        // Legacy wildcard: a first CDS request naming nothing gets every cluster.
        await call.WriteAsync(new DeltaDiscoveryRequest
        {
            Node = new Node { Id = "web-sidecar-proxy", UserAgentName = "envoy" },
            TypeUrl = TypeUrls.Cluster,
        });
        var cds = await NextAsync(call, TypeUrls.Cluster);
        var names = cds.Resources.Select(r => r.Name).ToList();
        var db = Assert.Single(names, n => n.StartsWith("db.", StringComparison.Ordinal));
        var cache = Assert.Single(names, n => n.StartsWith("cache.", StringComparison.Ordinal));
        Assert.All(cds.Resources, r => Assert.Equal(r.Name, r.Resource_.Unpack<Cluster>().Name));

        // Named EDS subscription: both assignments, then only the one whose health changed.
        await call.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Endpoint, ResourceNamesSubscribe = { db, cache } });
        // Anti-entropy may still be putting the registrations in the catalog: wait until both have their instance.
        var held = new Dictionary<string, ClusterLoadAssignment>();
        while (held.Count < 2 || held.Values.Any(a => a.Endpoints.Count == 0))
            foreach (var r in (await NextAsync(call, TypeUrls.Endpoint)).Resources) held[r.Name] = r.Resource_.Unpack<ClusterLoadAssignment>();
        (await http.PutAsync("/v1/agent/check/fail/db-alive", null)).EnsureSuccessStatusCode();
        var change = await NextAsync(call, TypeUrls.Endpoint);
        var changed = Assert.Single(change.Resources);
        Assert.Equal(db, changed.Name);
        Assert.Equal(HealthStatus.Unhealthy, changed.Resource_.Unpack<ClusterLoadAssignment>().Endpoints.Single().LbEndpoints.Single().HealthStatus);

        // The cache upstream goes away: its cluster is removed, and nothing else is resent.
        await Put(http, Proxy("db"));
        var removal = await NextAsync(call, TypeUrls.Cluster);
        Assert.Equal([cache], removal.RemovedResources);
        Assert.DoesNotContain(removal.Resources, r => r.Name == db);
    }
}
