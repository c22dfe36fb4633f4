using Envoy.Config.Route.V3;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Resources;
using static Mesh.Xds.Tests.Resources.SnapshotFixtures;

namespace Mesh.Xds.Tests.Resources;

/// <summary>Route configurations from compiled chains: routers, splitters, resolvers, retries, timeouts, matches.</summary>
public sealed class RouteBuilderTests
{
    private static VirtualHost Host(RouteConfiguration config) => Assert.Single(config.VirtualHosts);

    private static UpstreamSnapshot Upstream(string service, params string[] entries) =>
        new(service, "127.0.0.1", 9300, "http", Chain(service, entries), new Dictionary<string, EndpointGroup>());

    [Fact]
    public void Golden_SidecarHttp() => GoldenFiles.Assert("routes-sidecar-http", RouteBuilder.Build(SidecarHttp()));

    [Fact]
    public void Build_TcpUpstream_NoRouteConfiguration() => Assert.Empty(RouteBuilder.Build(SidecarTcp()));

    [Fact]
    public void Build_OnePerHttpLikeUpstream_NamedAfterTheUpstream_OneWildcardHost()
    {
        var routes = RouteBuilder.Build(SnapshotFixtures.Sidecar([DbUpstream(), ApiUpstream(), GreeterUpstream()]));

        Assert.Equal(["api", "greeter"], routes.Select(r => r.Name));
        Assert.All(routes, r =>
        {
            var host = Host(r);
            Assert.Equal(r.Name, host.Name);
            Assert.Equal(["*"], host.Domains);
            Assert.False(r.ValidateClusters);
        });
    }

    [Fact]
    public void Build_Proxyless_SameConfigurationsAndNames()
    {
        Assert.Equal(GoldenFiles.Render(RouteBuilder.Build(SidecarHttp())), GoldenFiles.Render(RouteBuilder.Build(Proxyless())));
    }

    [Fact]
    public void Router_RoutesInOrder_CatchAllLastToTheSplitter()
    {
        var routes = Host(RouteBuilder.Build(SidecarHttp())[0]).Routes;

        Assert.Equal(4, routes.Count);
        Assert.Equal("/admin", routes[0].Match.Prefix);
        Assert.Equal("/v2", routes[1].Match.Path);
        Assert.Equal("/items/[0-9]+", routes[2].Match.SafeRegex.Regex);
        Assert.Equal("/", routes[3].Match.Prefix);
        Assert.Equal(Sni("admin.default.dc1"), routes[0].Route_.Cluster);
        Assert.Equal(Sni("v2.api.default.dc1"), routes[1].Route_.Cluster);
        // v1 fails over: the route names the aggregate cluster, which carries the primary's SNI.
        Assert.Equal(Sni("v1.api.default.dc1"), routes[2].Route_.Cluster);
        Assert.NotNull(routes[3].Route_.WeightedClusters);
    }

    [Fact]
    public void Splitter_WeightsInHundredthsOfAPercent_SumTo10000_HeadersPerSplit()
    {
        var weighted = Host(RouteBuilder.Build(SidecarHttp())[0]).Routes[^1].Route_.WeightedClusters;

        Assert.Equal([Sni("v1.api.default.dc1"), Sni("v2.api.default.dc1")], weighted.Clusters.Select(c => c.Name));
        Assert.Equal([6667u, 3333u], weighted.Clusters.Select(c => c.Weight!.Value));
        Assert.Equal(10000u, (uint)weighted.Clusters.Sum(c => c.Weight!.Value));
        var canary = weighted.Clusters[1];
        var set = Assert.Single(canary.RequestHeadersToAdd);
        Assert.Equal(("x-canary", "true"), (set.Header.Key, set.Header.Value));
        Assert.Equal(Envoy.Config.Core.V3.HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd, set.AppendAction);
        Assert.Equal(["x-debug"], canary.RequestHeadersToRemove);
        var added = Assert.Single(canary.ResponseHeadersToAdd);
        Assert.Equal(Envoy.Config.Core.V3.HeaderValueOption.Types.HeaderAppendAction.AppendIfExistsOrAdd, added.AppendAction);
        Assert.Empty(weighted.Clusters[0].RequestHeadersToAdd);
    }

    [Fact]
    public void Splitter_ThirdsAfterFlattening_StillSumTo10000()
    {
        var upstream = Upstream("shop",
            """{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http"}}""",
            """{"Kind":"service-splitter","Name":"shop","Splits":[{"Weight":50,"Service":"cart"},{"Weight":50,"Service":"checkout"}]}""",
            """{"Kind":"service-splitter","Name":"cart","Splits":[{"Weight":33.33,"ServiceSubset":"a"},{"Weight":66.67,"ServiceSubset":"b"}]}""",
            """{"Kind":"service-resolver","Name":"cart","Subsets":{"a":{"Filter":"Service.Tags contains a"},"b":{"Filter":"Service.Tags contains b"}}}""");

        var route = Assert.Single(Host(RouteBuilder.ForUpstream(upstream)).Routes);

        Assert.Equal("/", route.Match.Prefix);
        Assert.Equal(3, route.Route_.WeightedClusters.Clusters.Count);
        Assert.Equal(10000u, (uint)route.Route_.WeightedClusters.Clusters.Sum(c => c.Weight!.Value));
    }

    [Fact]
    public void Router_Destination_RewriteTimeoutsAndHashPolicies()
    {
        var admin = Host(RouteBuilder.Build(SidecarHttp())[0]).Routes[0].Route_;

        Assert.Equal("/", admin.PrefixRewrite);
        // The route's own 2 s wins over the admin resolver's 15 s.
        Assert.Equal(TimeSpan.FromSeconds(2), admin.Timeout.ToTimeSpan());
        Assert.Equal(TimeSpan.FromSeconds(30), admin.IdleTimeout.ToTimeSpan());
        Assert.Null(admin.RetryPolicy);
        Assert.Collection(admin.HashPolicy,
            p => Assert.Equal("x-user", p.Header.HeaderName),
            p =>
            {
                Assert.Equal(("session", "/"), (p.Cookie.Name, p.Cookie.Path));
                Assert.Equal(TimeSpan.FromSeconds(30), p.Cookie.Ttl.ToTimeSpan());
            },
            p => Assert.True(p.ConnectionProperties.SourceIp && p.Terminal));
    }

    [Fact]
    public void Router_Retries_ConnectFailureStatusCodesAndConditions()
    {
        var route = Host(RouteBuilder.Build(SidecarHttp())[0]).Routes[1];
        var retry = route.Route_.RetryPolicy;

        Assert.Equal("connect-failure,retriable-status-codes,reset", retry.RetryOn);
        Assert.Equal(3u, retry.NumRetries);
        Assert.Equal([503u, 504u], retry.RetriableStatusCodes);
        Assert.Equal(("x-route", "v2"), (route.RequestHeadersToAdd[0].Header.Key, route.RequestHeadersToAdd[0].Header.Value));
        Assert.Null(route.Route_.Timeout);
    }

    [Fact]
    public void Retry_OnlyNumRetries_PolicyWithoutConditions_NothingAsked_Null()
    {
        Assert.Null(RouteBuilder.Retry(new Mesh.Connect.Entries.RouteDestination()));
        var policy = RouteBuilder.Retry(new Mesh.Connect.Entries.RouteDestination { NumRetries = 2 })!;
        Assert.Equal(("", 2u), (policy.RetryOn, policy.NumRetries));
    }

    [Fact]
    public void Router_Matches_HeadersMethodsAndQueryParameters()
    {
        var routes = Host(RouteBuilder.Build(SidecarHttp())[0]).Routes;

        var v2 = routes[1].Match.Headers;
        Assert.Equal(("x-canary", "always", false), (v2[0].Name, v2[0].StringMatch.Exact, v2[0].InvertMatch));
        Assert.True(v2[1].PresentMatch && v2[1].InvertMatch);
        Assert.Equal((":method", "GET|POST"), (v2[2].Name, v2[2].StringMatch.SafeRegex.Regex));

        var items = routes[2].Match;
        Assert.Equal("a", items.Headers[0].StringMatch.Prefix);
        Assert.Equal("-1", items.Headers[1].StringMatch.Suffix);
        Assert.Equal("[a-f]+", items.Headers[2].StringMatch.SafeRegex.Regex);
        Assert.True(items.QueryParameters[0].PresentMatch);
        Assert.Equal("fast", items.QueryParameters[1].StringMatch.Exact);
        Assert.Equal("[0-9]", items.QueryParameters[2].StringMatch.SafeRegex.Regex);
    }

    [Fact]
    public void ResolverStart_CatchAllToItsCluster_WithTheResolversRequestTimeout()
    {
        var route = Assert.Single(Host(RouteBuilder.ForUpstream(Upstream("admin", L7Entries))).Routes);

        Assert.Equal("/", route.Match.Prefix);
        Assert.Equal(Sni("admin.default.dc1"), route.Route_.Cluster);
        Assert.Equal(TimeSpan.FromSeconds(15), route.Route_.Timeout.ToTimeSpan());
    }

    [Fact]
    public void ResolverStart_DefaultResolver_NoTimeout()
    {
        var route = Assert.Single(Host(RouteBuilder.Build(SidecarHttp())[1]).Routes);

        Assert.Equal(Sni("greeter.default.dc1"), route.Route_.Cluster);
        Assert.Null(route.Route_.Timeout);
    }

    [Fact]
    public void ForUpstream_ChainNamingAMissingNode_ClearError()
    {
        var upstream = ApiUpstream();
        var broken = upstream with { Chain = upstream.Chain with { StartNode = "router:nope" } };

        var e = Assert.Throws<InvalidOperationException>(() => RouteBuilder.ForUpstream(broken));
        Assert.Contains("router:nope", e.Message);
    }
}
