using Envoy.Config.Cluster.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Resources;
using static Mesh.Xds.Tests.Resources.SnapshotFixtures;
using AggregateClusterConfig = Envoy.Extensions.Clusters.Aggregate.V3.ClusterConfig;
using HttpProtocolOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace Mesh.Xds.Tests.Resources;

/// <summary>Clusters: local_app, one EDS cluster per resolver, failover aggregates, proxyless clusters, extra clusters.</summary>
public sealed class ClusterBuilderTests
{
    private static IReadOnlyList<Cluster> Clusters(ConfigSnapshot snapshot)
    {
        var result = ClusterBuilder.Build(snapshot);
        Assert.Empty(result.Errors);
        return result.Clusters;
    }

    private static Cluster Named(IReadOnlyList<Cluster> clusters, string name) => Assert.Single(clusters, c => c.Name == name);

    [Fact]
    public void Golden_SidecarTcp() => GoldenFiles.Assert("clusters-sidecar-tcp", Clusters(SidecarTcp()));

    [Fact]
    public void Golden_SidecarHttp() => GoldenFiles.Assert("clusters-sidecar-http", Clusters(SidecarHttp()));

    [Fact]
    public void Golden_Proxyless() => GoldenFiles.Assert("clusters-proxyless", Clusters(Proxyless()));

    [Fact]
    public void Build_Sidecar_LocalAppFirst_StaticToTheApplication()
    {
        var clusters = Clusters(SidecarTcp() with { Settings = new ProxySettings { LocalConnectTimeout = TimeSpan.FromSeconds(2) } });

        var local = clusters[0];
        Assert.Equal("local_app", local.Name);
        Assert.Equal(Cluster.Types.DiscoveryType.Static, local.Type);
        Assert.Equal(TimeSpan.FromSeconds(2), local.ConnectTimeout.ToTimeSpan());
        var address = Assert.Single(Assert.Single(local.LoadAssignment.Endpoints).LbEndpoints).Endpoint.Address.SocketAddress;
        Assert.Equal(("127.0.0.1", 8080u), (address.Address, address.PortValue));
        Assert.Empty(local.TypedExtensionProtocolOptions);
    }

    [Fact]
    public void Build_GrpcLocalApp_LocalAppSpeaksHttp2()
    {
        var local = Clusters(SidecarHttp())[0];
        var options = local.TypedExtensionProtocolOptions[Names.HttpProtocolOptionsKey].Unpack<HttpProtocolOptions>();
        Assert.NotNull(options.ExplicitHttpConfig.Http2ProtocolOptions);
    }

    [Fact]
    public void Build_TcpUpstream_EdsOverAdsNamedBySni_WithMtlsToTheTargetIdentity()
    {
        var db = Named(Clusters(SidecarTcp()), Sni("db.default.dc1"));

        Assert.Equal(Cluster.Types.DiscoveryType.Eds, db.Type);
        Assert.NotNull(db.EdsClusterConfig.EdsConfig.Ads);
        Assert.Equal(Envoy.Config.Core.V3.ApiVersion.V3, db.EdsClusterConfig.EdsConfig.ResourceApiVersion);
        Assert.Equal("tls", db.TransportSocket.Name);
        var tls = db.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
        Assert.Equal(Sni("db.default.dc1"), tls.Sni);
        Assert.Equal($"spiffe://{TrustDomain}/ns/default/dc/dc1/svc/db",
            Assert.Single(tls.CommonTlsContext.CombinedValidationContext.DefaultValidationContext.MatchTypedSubjectAltNames).Matcher.Exact);
        Assert.Equal(0, db.CommonLbConfig.HealthyPanicThreshold.Value);
        Assert.Empty(db.TypedExtensionProtocolOptions);
    }

    [Fact]
    public void Build_UpstreamSettings_TimeoutOverrideLimitsAndOutlierDetection()
    {
        var db = Named(Clusters(SidecarTcp()), Sni("db.default.dc1"));

        Assert.Equal(TimeSpan.FromMilliseconds(1500), db.ConnectTimeout.ToTimeSpan());
        var thresholds = Assert.Single(db.CircuitBreakers.Thresholds);
        Assert.Equal(100u, thresholds.MaxConnections);
        Assert.Equal(10u, thresholds.MaxPendingRequests);
        Assert.Null(thresholds.MaxRequests);
        Assert.Equal(TimeSpan.FromSeconds(10), db.OutlierDetection.Interval.ToTimeSpan());
        Assert.Equal(5u, db.OutlierDetection.Consecutive5Xx);
        Assert.Equal(80u, db.OutlierDetection.EnforcingConsecutive5Xx);
    }

    [Fact]
    public void Build_NoUpstreamSettings_ResolverTimeout_NoBreakersNoOutlierDetection()
    {
        var db = Named(Clusters(SnapshotFixtures.Sidecar([DbUpstream() with { ConnectTimeout = null, Limits = null, PassiveHealthCheck = null }])), Sni("db.default.dc1"));

        Assert.Equal(TimeSpan.FromSeconds(5), db.ConnectTimeout.ToTimeSpan());
        Assert.Null(db.CircuitBreakers);
        Assert.Null(db.OutlierDetection);
    }

    [Fact]
    public void Outlier_EnforcingAbove100_Clamped() =>
        Assert.Equal(100u, ClusterBuilder.Outlier(new PassiveHealthCheck(TimeSpan.Zero, 0, 250)).EnforcingConsecutive5Xx);

    [Fact]
    public void Build_Failover_AggregateNamedByPrimarySni_OverFailoverTargetsInOrder()
    {
        var clusters = Clusters(SidecarHttp());
        var primary = Sni("v1.api.default.dc1");

        var aggregate = Named(clusters, primary);
        Assert.Equal(Names.AggregateClusterType, aggregate.ClusterType.Name);
        Assert.Equal(Cluster.Types.LbPolicy.ClusterProvided, aggregate.LbPolicy);
        Assert.Equal(TimeSpan.FromSeconds(3), aggregate.ConnectTimeout.ToTimeSpan());
        var children = aggregate.ClusterType.TypedConfig.Unpack<AggregateClusterConfig>().Clusters;
        Assert.Equal([$"failover-target~0~{primary}", $"failover-target~1~{primary}"], children);

        // Each child keeps its own target's SNI and identity, so the dc2 instance is verified as itself.
        var remote = Named(clusters, children[1]).TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
        Assert.Equal(Sni("v1.api.default.dc2"), remote.Sni);
        Assert.Equal($"spiffe://{TrustDomain}/ns/default/dc/dc2/svc/api",
            Assert.Single(remote.CommonTlsContext.CombinedValidationContext.DefaultValidationContext.MatchTypedSubjectAltNames).Matcher.Exact);
        Assert.Equal(Sni("v1.api.default.dc1"), Named(clusters, children[0]).TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>().Sni);
        Assert.Equal(Cluster.Types.DiscoveryType.Eds, Named(clusters, children[0]).Type);
    }

    [Fact]
    public void Build_HttpChain_OneClusterPerResolver_NamesUnique()
    {
        var names = Clusters(SidecarHttp()).Select(c => c.Name).ToList();

        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal(
        [
            "local_app", Sni("admin.default.dc1"), Sni("v1.api.default.dc1"), $"failover-target~0~{Sni("v1.api.default.dc1")}",
            $"failover-target~1~{Sni("v1.api.default.dc1")}", Sni("v2.api.default.dc1"), Sni("greeter.default.dc1"),
        ], names);
    }

    [Fact]
    public void Build_RingHashResolver_PolicyAndRingSizes()
    {
        var admin = Named(Clusters(SidecarHttp()), Sni("admin.default.dc1"));

        Assert.Equal(Cluster.Types.LbPolicy.RingHash, admin.LbPolicy);
        Assert.Equal(1024ul, admin.RingHashLbConfig.MinimumRingSize);
        Assert.Equal(8192ul, admin.RingHashLbConfig.MaximumRingSize);
    }

    [Fact]
    public void Build_GrpcUpstream_Http2_HttpUpstream_Not()
    {
        var clusters = Clusters(SidecarHttp());

        Assert.True(Named(clusters, Sni("greeter.default.dc1")).TypedExtensionProtocolOptions.ContainsKey(Names.HttpProtocolOptionsKey));
        Assert.Empty(Named(clusters, Sni("v2.api.default.dc1")).TypedExtensionProtocolOptions);
    }

    [Fact]
    public void Build_TwoUpstreamsSameTarget_OneCluster()
    {
        var clusters = Clusters(SnapshotFixtures.Sidecar([DbUpstream(), DbUpstream() with { Name = "db-again", BindPort = 9999, ConnectTimeout = TimeSpan.FromSeconds(9) }]));

        var db = Named(clusters, Sni("db.default.dc1"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), db.ConnectTimeout.ToTimeSpan());
    }

    [Fact]
    public void Build_Proxyless_PlaintextEdsRoundRobin_NoLocalApp()
    {
        var clusters = Clusters(Proxyless());

        Assert.DoesNotContain(clusters, c => c.Name == "local_app");
        Assert.All(clusters, c =>
        {
            Assert.Null(c.TransportSocket);
            Assert.Equal(Cluster.Types.LbPolicy.RoundRobin, c.LbPolicy);
            if (c.ClusterType is null) Assert.NotNull(c.EdsClusterConfig.EdsConfig.Ads);
        });
        Assert.Equal(Names.AggregateClusterType, Named(clusters, Sni("v1.api.default.dc1")).ClusterType.Name);
    }

    [Fact]
    public void Build_ExtraStaticClusters_ParsedAndAppended()
    {
        const string json = """
            {"name":"zipkin","type":"STRICT_DNS","connect_timeout":"5s","load_assignment":{"cluster_name":"zipkin","endpoints":[{"lb_endpoints":[{"endpoint":{"address":{"socket_address":{"address":"zipkin.local","port_value":9411}}}}]}]}},
            {"@type":"type.googleapis.com/envoy.config.cluster.v3.Cluster","name":"otel","type":"STATIC","connectTimeout":"1s",
             "typed_extension_protocol_options":{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions":{"@type":"type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions","explicit_http_config":{"http2_protocol_options":{}}}}}
            """;

        var result = ClusterBuilder.Build(SidecarTcp() with { Settings = new ProxySettings { ExtraStaticClustersJson = json } });

        Assert.Empty(result.Errors);
        Assert.Equal(["zipkin", "otel"], result.Clusters.TakeLast(2).Select(c => c.Name));
        Assert.Equal(Cluster.Types.DiscoveryType.StrictDns, result.Clusters[^2].Type);
        Assert.True(result.Clusters[^1].TypedExtensionProtocolOptions[Names.HttpProtocolOptionsKey].Is(HttpProtocolOptions.Descriptor));
    }

    [Theory]
    [InlineData("{\"name\":\"x\"", "not valid JSON")]
    [InlineData("{\"name\":\"x\",\"no_such_field\":1}", "item 1")]
    [InlineData("{\"connect_timeout\":\"1s\"}", "no name")]
    [InlineData("42", "not a JSON object")]
    [InlineData("{\"name\":\"x\",\"transport_socket\":{\"name\":\"tls\",\"typed_config\":{\"@type\":\"type.googleapis.com/no.such.Type\"}}}", "item 1")]
    [InlineData("{\"name\":\"x\",\"connect_timeout\":\"soon\"}", "item 1")]
    [InlineData("{\"name\":\"a\"}],[{\"name\":\"b\"}", "not valid JSON")]
    [InlineData("{\"@type\":\"type.googleapis.com/envoy.config.listener.v3.Listener\",\"name\":\"x\"}", "@type")]
    public void Build_InvalidExtraClusters_Reported_RestOfTheSnapshotBuilt(string json, string expected)
    {
        var result = ClusterBuilder.Build(SidecarTcp() with { Settings = new ProxySettings { ExtraStaticClustersJson = json } });

        Assert.Contains(expected, Assert.Single(result.Errors));
        Assert.Equal(["local_app", Sni("db.default.dc1")], result.Clusters.Select(c => c.Name));
    }

    [Fact]
    public void Build_ExtraClusterNameClash_Reported_GeneratedClusterKept()
    {
        var result = ClusterBuilder.Build(SidecarTcp() with
        {
            Settings = new ProxySettings { ExtraStaticClustersJson = """{"name":"local_app","type":"STATIC"},{"name":"ok"}""" },
        });

        Assert.Contains("\"local_app\" is already defined", Assert.Single(result.Errors));
        Assert.Equal(Cluster.Types.DiscoveryType.Static, result.Clusters[0].Type);
        Assert.NotNull(result.Clusters[0].LoadAssignment);
        Assert.Equal("ok", result.Clusters[^1].Name);
    }

    [Fact]
    public void Build_ExtraClusters_EachBuildGetsItsOwnCopy()
    {
        var snapshot = SidecarTcp() with { Settings = new ProxySettings { ExtraStaticClustersJson = """{"name":"extra"}""" } };

        var first = ClusterBuilder.Build(snapshot).Clusters[^1];
        first.Name = "changed";

        Assert.Equal("extra", ClusterBuilder.Build(snapshot).Clusters[^1].Name);
    }

    [Fact]
    public void Build_IsDeterministic()
    {
        var a = GoldenFiles.Render(Clusters(SidecarHttp()));
        var b = GoldenFiles.Render(Clusters(SidecarHttp()));
        Assert.Equal(a, b);
    }
}
