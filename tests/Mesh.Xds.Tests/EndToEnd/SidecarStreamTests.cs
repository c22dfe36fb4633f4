using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Mesh.Xds.Cache;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;

namespace Mesh.Xds.Tests.EndToEnd;

/// <summary>
/// A real agent process and one ADS stream as the dashboard's sidecar: what the stream receives at first, and what it
/// receives (and does not receive) as the upstream's health, the intentions and the traffic split change.
/// </summary>
public sealed class SidecarStreamTests
{
    private static async Task Put(HttpClient http, string path, object body) =>
        (await http.PutAsJsonAsync(path, body)).EnsureSuccessStatusCode();

    private static async Task Config(HttpClient http, string json) =>
        (await http.PutAsync("/v1/config", new StringContent(json, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();

    private static async Task RegisterDemoAsync(HttpClient http)
    {
        await Put(http, "/v1/agent/service/register", new { Name = "counting", ID = "counting-1", Port = 9003 });
        await Put(http, "/v1/agent/service/register", new
        {
            Name = "counting-sidecar-proxy", ID = "counting-1-sidecar-proxy", Kind = "connect-proxy", Port = 21000, Address = "127.0.0.1",
            Meta = new Dictionary<string, string> { ["version"] = "v1" },
            Proxy = new { DestinationServiceName = "counting", DestinationServiceID = "counting-1", LocalServicePort = 9003 },
            Check = new { CheckID = "counting-1-proxy", TTL = "10m", Status = "passing" },
        });
        await Put(http, "/v1/agent/service/register", new { Name = "dashboard", ID = "dashboard", Port = 9002 });
        await Put(http, "/v1/agent/service/register", new
        {
            Name = "dashboard-sidecar-proxy", ID = "dashboard-sidecar-proxy", Kind = "connect-proxy", Port = 21001,
            Proxy = new
            {
                DestinationServiceName = "dashboard", DestinationServiceID = "dashboard", LocalServicePort = 9002,
                Upstreams = new[] { new { DestinationName = "counting", LocalBindPort = 5000 } },
            },
        });
    }

    [Fact]
    public async Task Stream_DemoDashboardSidecar_ReceivesItsConfiguration_ThenOnlyWhatEachChangeTouches()
    {
        await using var agent = await AgentProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = agent.BaseAddress };
        await RegisterDemoAsync(http);
        var trustDomain = (await http.GetFromJsonAsync<CaRoots>("/v1/connect/ca/roots"))!.TrustDomain;
        var countingSni = $"counting.default.dc1.internal.{trustDomain}";
        await using var ads = new AdsTestClient(agent.GrpcPort, "dashboard-sidecar-proxy");

        // Clusters: the local app and the upstream's one target, over TLS with the target's identity.
        await ads.SubscribeAsync(TypeUrls.Cluster);
        var clusters = AdsTestClient.Unpack<Cluster>((await ads.NextOfAsync(TypeUrls.Cluster)).Response);
        Assert.Equal([countingSni, "local_app"], clusters.Select(c => c.Name).Order(StringComparer.Ordinal));
        var upstream = clusters.Single(c => c.Name == countingSni);
        var tls = upstream.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
        Assert.Equal(countingSni, tls.Sni);
        Assert.Contains($"spiffe://{trustDomain}/ns/default/dc/dc1/svc/counting",
            tls.CommonTlsContext.CombinedValidationContext.DefaultValidationContext.MatchTypedSubjectAltNames.Select(m => m.Matcher.Exact));

        // Endpoints: counting's sidecar, healthy (once anti-entropy has put the agent's registrations in the catalog).
        await ads.SubscribeAsync(TypeUrls.Endpoint, countingSni);
        var eds = await WaitForAsync(ads, TypeUrls.Endpoint, r => AdsTestClient.Unpack<ClusterLoadAssignment>(r).Single().Endpoints.Count == 1);
        var assignment = AdsTestClient.Unpack<ClusterLoadAssignment>(eds).Single();
        var endpoint = assignment.Endpoints.Single().LbEndpoints.Single();
        Assert.Equal((21000u, Envoy.Config.Core.V3.HealthStatus.Healthy), (endpoint.Endpoint.Address.SocketAddress.PortValue, endpoint.HealthStatus));

        // Listeners: the public one (mTLS, intentions) and the upstream's on 127.0.0.1:5000.
        await ads.SubscribeAsync(TypeUrls.Listener);
        var listeners = AdsTestClient.Unpack<Listener>((await ads.NextOfAsync(TypeUrls.Listener)).Response);
        Assert.Equal(["counting:127.0.0.1:5000", "public_listener:0.0.0.0:21001"], listeners.Select(l => l.Name).Order(StringComparer.Ordinal));

        // Secrets: the dashboard's leaf (its SPIFFE identity) and the roots.
        await ads.SubscribeAsync(TypeUrls.Secret, "leaf", "roots");
        var secrets = AdsTestClient.Unpack<Secret>((await ads.NextOfAsync(TypeUrls.Secret)).Response);
        var leaf = X509Certificate2.CreateFromPem(secrets.Single(s => s.Name == "leaf").TlsCertificate.CertificateChain.InlineString);
        Assert.Contains($"spiffe://{trustDomain}/ns/default/dc/dc1/svc/dashboard", leaf.Extensions["2.5.29.17"]!.Format(false));

        // Health: counting's sidecar fails, and only an assignment arrives.
        (await http.PutAsync("/v1/agent/check/fail/counting-1-proxy", null)).EnsureSuccessStatusCode();
        var health = await ads.NextAsync();
        Assert.Equal(TypeUrls.Endpoint, health.TypeUrl);
        Assert.Equal(Envoy.Config.Core.V3.HealthStatus.Unhealthy,
            AdsTestClient.Unpack<ClusterLoadAssignment>(health).Single().Endpoints.Single().LbEndpoints.Single().HealthStatus);

        // Intentions: a deny for web reaches the public listener's RBAC filter, and nothing but listeners changes.
        await Config(http, """{"Kind":"service-intentions","Name":"dashboard","Sources":[{"Name":"web","Action":"deny"}]}""");
        var (lds, before) = await ads.NextOfAsync(TypeUrls.Listener);
        Assert.Empty(before);
        var rbac = AdsTestClient.Unpack<Listener>(lds).Single(l => l.Name.StartsWith("public_listener:", StringComparison.Ordinal))
            .FilterChains.Single().Filters.Single(f => f.Name == "envoy.filters.network.rbac").TypedConfig.Unpack<NetworkRbac>();
        Assert.Equal(Envoy.Config.Rbac.V3.RBAC.Types.Action.Deny, rbac.Rules.Action);
        Assert.Contains("/svc/web$", rbac.Rules.Policies.Values.Single().ToString());

        // A split: HTTP protocol, two subsets, 80/20. Clusters and listeners change; the route carries the weights.
        await Put(http, "/v1/agent/service/register", new
        {
            Name = "counting-sidecar-proxy", ID = "counting-2-sidecar-proxy", Kind = "connect-proxy", Port = 21002, Address = "127.0.0.1",
            Meta = new Dictionary<string, string> { ["version"] = "v2" },
            Proxy = new { DestinationServiceName = "counting", DestinationServiceID = "counting-2", LocalServicePort = 9004 },
        });
        await Config(http, """{"Kind":"service-defaults","Name":"counting","Protocol":"http"}""");
        await Config(http, """{"Kind":"service-resolver","Name":"counting","Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2"}}}""");
        await Config(http, """{"Kind":"service-splitter","Name":"counting","Splits":[{"Weight":80,"ServiceSubset":"v1"},{"Weight":20,"ServiceSubset":"v2"}]}""");
        var v1 = $"v1.counting.default.dc1.internal.{trustDomain}";
        var v2 = $"v2.counting.default.dc1.internal.{trustDomain}";
        await WaitForAsync(ads, TypeUrls.Cluster, r => AdsTestClient.Unpack<Cluster>(r).Select(c => c.Name).Intersect([v1, v2]).Count() == 2);
        await ads.SubscribeAsync(TypeUrls.Route, "counting");
        var route = AdsTestClient.Unpack<RouteConfiguration>(await WaitForAsync(ads, TypeUrls.Route, _ => true)).Single();
        var weighted = route.VirtualHosts.Single().Routes.Last().Route_.WeightedClusters.Clusters;
        Assert.Equal([(v1, 8000u), (v2, 2000u)], weighted.Select(w => (w.Name, (w.Weight ?? 0u))).OrderBy(w => w.Name, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Stream_FirstRequestWithoutNode_EndsWithInvalidArgument()
    {
        await using var agent = await AgentProcess.StartAsync();
        using var channel = new Mesh.Xds.Grpc.GrpcChannel(new Uri($"http://127.0.0.1:{agent.GrpcPort}"));
        await using var call = channel.StartDuplex<Envoy.Service.Discovery.V3.DiscoveryRequest, Envoy.Service.Discovery.V3.DiscoveryResponse>(
            Mesh.Xds.Hosting.XdsService.StreamMethod, Envoy.Service.Discovery.V3.DiscoveryResponse.Parser);

        await call.WriteAsync(new Envoy.Service.Discovery.V3.DiscoveryRequest { TypeUrl = TypeUrls.Cluster });
        var ex = await Assert.ThrowsAsync<Mesh.Xds.Grpc.GrpcException>(async () => await call.ReadAsync());

        Assert.Equal(Mesh.Xds.Grpc.StatusCode.InvalidArgument, ex.StatusCode);
        Assert.False(agent.HasExited);
    }

    private static async Task<Envoy.Service.Discovery.V3.DiscoveryResponse> WaitForAsync(AdsTestClient ads, string typeUrl,
        Func<Envoy.Service.Discovery.V3.DiscoveryResponse, bool> done)
    {
        while (true)
        {
            var (r, _) = await ads.NextOfAsync(typeUrl);
            if (done(r)) return r;
        }
    }

    private sealed record CaRoots(string TrustDomain);
}
