using System.Net;
using Mesh.Sidecar.Config;
using Mesh.Xds.Tests.Resources;

namespace Mesh.Sidecar.Tests.Config;

public class XdsTranslatorRouteClusterTests
{
    private static readonly string V1 = SnapshotFixtures.Sni("v1.api.default.dc1");
    private static readonly string V2 = SnapshotFixtures.Sni("v2.api.default.dc1");
    private static readonly string Admin = SnapshotFixtures.Sni("admin.default.dc1");
    private static readonly string Greeter = SnapshotFixtures.Sni("greeter.default.dc1");

    private static string Spiffe(string dc, string service) =>
        $"spiffe://{SnapshotFixtures.TrustDomain}/ns/default/dc/{dc}/svc/{service}";

    private static IReadOnlyList<RouteConfig> ApiRoutes(SidecarState state)
    {
        var table = state.Routes["api"];
        var host = Assert.Single(table.VirtualHosts);
        Assert.Equal<string>(["*"], host.Domains);
        return host.Routes;
    }

    [Fact]
    public void Apply_RouterRoutes_PrefixRewriteTimeoutsAndHashPolicies()
    {
        var routes = ApiRoutes(TranslatorFixture.Translate(SnapshotFixtures.SidecarHttp()));

        Assert.Equal(4, routes.Count);
        var admin = routes[0];
        Assert.Equal(PathMatchKind.Prefix, admin.Match.PathKind);
        Assert.Equal("/admin", admin.Match.Path);
        Assert.True(admin.Match.CaseSensitive);
        Assert.Equal(Admin, admin.Action.Cluster);
        Assert.Equal("/", admin.Action.PrefixRewrite);
        Assert.Equal(TimeSpan.FromSeconds(2), admin.Action.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(30), admin.Action.IdleTimeout);
        Assert.Null(admin.Action.Retry);
        Assert.Collection(admin.Action.HashPolicies,
            h => Assert.Equal(new HashPolicyConfig.Header("x-user", false), h),
            h => Assert.Equal(new HashPolicyConfig.Cookie("session", TimeSpan.FromSeconds(30), "/", false), h),
            h => Assert.Equal(new HashPolicyConfig.SourceIp(true), h));
    }

    [Fact]
    public void Apply_RouterRoutes_HeaderMatchesRetriesAndHeaderChanges()
    {
        var route = ApiRoutes(TranslatorFixture.Translate(SnapshotFixtures.SidecarHttp()))[1];

        Assert.Equal(PathMatchKind.Exact, route.Match.PathKind);
        Assert.Equal("/v2", route.Match.Path);
        Assert.Collection(route.Match.Headers,
            h => Assert.Equal(new HeaderMatch("x-canary", new StringMatch(StringMatchKind.Exact, "always")), h),
            h => Assert.Equal(new HeaderMatch("x-debug", null, Present: true, Invert: true), h),
            h =>
            {
                Assert.Equal(":method", h.Name);
                Assert.True(h.Match!.Matches("POST"));
                Assert.True(h.Match.Matches("GET"));
                Assert.False(h.Match.Matches("GETX"));
                Assert.False(h.Match.Matches("DELETE"));
            });
        Assert.Equal(V2, route.Action.Cluster);
        Assert.Equal(TimeSpan.FromSeconds(15), route.Action.Timeout);
        var retry = Assert.IsType<RetryPolicyConfig>(route.Action.Retry);
        Assert.Equal(3, retry.NumRetries);
        Assert.True(retry.OnConnectFailure);
        Assert.True(retry.OnReset);
        Assert.True(retry.OnRetriableStatusCodes);
        Assert.False(retry.On5xx);
        Assert.False(retry.OnGatewayError);
        Assert.Equal<int>([503, 504], retry.RetriableStatusCodes);
        Assert.Null(retry.PerTryTimeout);
        Assert.Equal<HeaderToAdd>([new HeaderToAdd("x-route", "v2", Append: true)], route.RequestHeaders.Add);
        Assert.True(route.ResponseHeaders.IsEmpty);
    }

    [Fact]
    public void Apply_RouterRoutes_RegexPathHeaderAndQueryMatchersMatchFullValues()
    {
        var match = ApiRoutes(TranslatorFixture.Translate(SnapshotFixtures.SidecarHttp()))[2].Match;

        Assert.Equal(PathMatchKind.Regex, match.PathKind);
        Assert.Matches(match.PathRegex!, "/items/42");
        Assert.DoesNotMatch(match.PathRegex!, "/items/42/x");
        Assert.DoesNotMatch(match.PathRegex!, "/v1/items/42");
        Assert.Equal<string>(["x-tenant", "x-region", "x-id"], match.Headers.Select(h => h.Name));
        Assert.Equal(StringMatchKind.Prefix, match.Headers[0].Match!.Kind);
        Assert.Equal(StringMatchKind.Suffix, match.Headers[1].Match!.Kind);
        Assert.True(match.Headers[2].Match!.Matches("abc"));
        Assert.False(match.Headers[2].Match!.Matches("abcz"));
        Assert.Collection(match.QueryParameters,
            q => Assert.Equal(new QueryParameterMatch("debug", null), q),
            q => Assert.Equal(new QueryParameterMatch("mode", new StringMatch(StringMatchKind.Exact, "fast")), q),
            q =>
            {
                Assert.Equal("v", q.Name);
                Assert.True(q.Match!.Matches("7"));
                Assert.False(q.Match.Matches("77"));
            });
    }

    [Fact]
    public void Apply_SplitterCatchAll_WeightedClustersWithPerClusterHeaders()
    {
        var route = ApiRoutes(TranslatorFixture.Translate(SnapshotFixtures.SidecarHttp()))[3];

        Assert.Equal(PathMatchKind.Prefix, route.Match.PathKind);
        Assert.Equal("/", route.Match.Path);
        Assert.Null(route.Action.Cluster);
        var split = Assert.IsType<WeightedClusterSet>(route.Action.WeightedClusters);
        Assert.Equal(10_000, split.TotalWeight);
        Assert.Collection(split.Clusters,
            v1 =>
            {
                Assert.Equal((V1, 6667), (v1.Name, v1.Weight));
                Assert.True(v1.RequestHeaders.IsEmpty);
            },
            v2 =>
            {
                Assert.Equal((V2, 3333), (v2.Name, v2.Weight));
                Assert.Equal<HeaderToAdd>([new HeaderToAdd("x-canary", "true", Append: false)], v2.RequestHeaders.Add);
                Assert.Equal<string>(["x-debug"], v2.RequestHeaders.Remove);
                Assert.Equal<HeaderToAdd>([new HeaderToAdd("x-served-by", "v2", Append: true)], v2.ResponseHeaders.Add);
            });
    }

    [Fact]
    public void Apply_HttpSidecarClusters_AggregateFailoverInOrderWithPerChildTlsIdentity()
    {
        var state = TranslatorFixture.Translate(SnapshotFixtures.SidecarHttp());

        var aggregate = state.Clusters[V1];
        Assert.Equal(ClusterKind.Aggregate, aggregate.Kind);
        Assert.Equal<string>([$"failover-target~0~{V1}", $"failover-target~1~{V1}"], aggregate.AggregateClusters);
        Assert.Null(aggregate.Tls);
        Assert.Equal(TimeSpan.FromSeconds(3), aggregate.ConnectTimeout);

        var primary = state.Clusters[$"failover-target~0~{V1}"];
        Assert.Equal(ClusterKind.Eds, primary.Kind);
        Assert.Equal(primary.Name, primary.EdsServiceName);
        Assert.Equal(V1, primary.Tls!.Sni);
        Assert.Equal<string>([Spiffe("dc1", "api")], primary.Tls.ExpectedUriSans);
        Assert.Equal("leaf", primary.Tls.CertificateSecret);
        Assert.Equal("roots", primary.Tls.ValidationSecret);
        var secondary = state.Clusters[$"failover-target~1~{V1}"];
        Assert.Equal(SnapshotFixtures.Sni("v1.api.default.dc2"), secondary.Tls!.Sni);
        Assert.Equal<string>([Spiffe("dc2", "api")], secondary.Tls.ExpectedUriSans);
        Assert.Equal(UpstreamProtocol.Http1, secondary.Protocol);
    }

    [Fact]
    public void Apply_HttpSidecarClusters_Http2LoadBalancersAndLocalApp()
    {
        var state = TranslatorFixture.Translate(SnapshotFixtures.SidecarHttp());

        var greeter = state.Clusters[Greeter];
        Assert.Equal(UpstreamProtocol.Http2, greeter.Protocol);
        Assert.Equal<string>([Spiffe("dc1", "greeter")], greeter.Tls!.ExpectedUriSans);
        Assert.Equal(LbPolicy.RoundRobin, greeter.LbPolicy);
        Assert.Equal(TimeSpan.FromSeconds(5), greeter.ConnectTimeout);
        Assert.Equal(LbPolicy.RingHash, state.Clusters[Admin].LbPolicy);

        var local = state.Clusters["local_app"];
        Assert.Equal(ClusterKind.Static, local.Kind);
        Assert.Equal(UpstreamProtocol.Http2, local.Protocol);
        Assert.Null(local.Tls);
        var endpoint = Assert.Single(local.StaticEndpoints);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8080), endpoint.Address);
        Assert.Equal(EndpointHealth.Unknown, endpoint.Health);
        Assert.Equal(1, endpoint.Weight);
        Assert.True(endpoint.IsServing);
    }

    [Fact]
    public void Apply_TcpSidecarClusters_LimitsOutlierDetectionAndConnectTimeout()
    {
        var state = TranslatorFixture.Translate(SnapshotFixtures.SidecarTcp());

        var db = state.Clusters[SnapshotFixtures.Sni("db.default.dc1")];
        Assert.Equal(TimeSpan.FromMilliseconds(1500), db.ConnectTimeout);
        Assert.Equal(new CircuitBreakerConfig(100, 10, 1024), db.CircuitBreakers);
        Assert.Equal(new OutlierDetectionConfig(5, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), 10), db.OutlierDetection);
        Assert.Equal(LbPolicy.RoundRobin, db.LbPolicy);
        Assert.Equal(2, db.LeastRequestChoiceCount);
    }

    [Fact]
    public void Apply_LoadAssignments_HealthWeightAndEveryEdsNameCovered()
    {
        var state = TranslatorFixture.Translate(SnapshotFixtures.SidecarHttp());

        var v1 = state.Endpoints[$"failover-target~0~{V1}"];
        Assert.Collection(v1.Endpoints,
            e => Assert.Equal(new EndpointConfig(new IPEndPoint(IPAddress.Parse("10.0.1.1"), 21000), EndpointHealth.Healthy, 3, 0), e),
            // Weight 0 in the catalog: Mesh marks the instance unhealthy, with Envoy's minimum weight.
            e => Assert.Equal(new EndpointConfig(new IPEndPoint(IPAddress.Parse("10.0.1.2"), 21000), EndpointHealth.Unhealthy, 1, 0), e));
        Assert.Equal(128, Assert.Single(state.Endpoints[$"failover-target~1~{V1}"].Endpoints).Weight);
        Assert.Empty(state.Endpoints[Admin].Endpoints);
        Assert.Equal(state.EndpointNames(), state.Endpoints.Keys.Order(StringComparer.Ordinal));
        Assert.Equal<string>(["api", "greeter"], state.RouteNames());
    }
}
