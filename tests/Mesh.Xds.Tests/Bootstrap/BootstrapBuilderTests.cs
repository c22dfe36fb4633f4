using System.Text.Json;
using System.Text.RegularExpressions;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Metrics.V3;
using Envoy.Config.Trace.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Extensions.Upstreams.Http.V3;
using Google.Protobuf;
using Mesh.Xds.Bootstrap;

namespace Mesh.Xds.Tests.Bootstrap;

// Bootstrap.tracing is deprecated in Envoy's API (the connection manager's provider replaces it) but Mesh still
// writes it for older Envoys, so the tests read it.
#pragma warning disable CS0612

public sealed class BootstrapBuilderTests
{
    private const string CaPem = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBATAKBggqhkjOPQQDAjAWMRQwEgYDVQQDEwtNZXNoIFRlc3Qg\n-----END CERTIFICATE-----\n";

    private const string ZipkinTracing = """
        {"http":{"name":"envoy.tracers.zipkin","typedConfig":{"@type":"type.googleapis.com/envoy.config.trace.v3.ZipkinConfig",
         "collector_cluster":"zipkin","collector_endpoint_version":"HTTP_JSON","collector_endpoint":"/api/v2/spans"}}}
        """;

    private const string ExtraListener = """
        {"name":"health_listener","address":{"socket_address":{"address":"0.0.0.0","port_value":9901}},
         "filter_chains":[{"filters":[{"name":"envoy.filters.network.tcp_proxy","typed_config":{
           "@type":"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy","stat_prefix":"health","cluster":"local_app"}}]}]}
        """;

    private static BootstrapInput Input(BootstrapSettings? settings = null) => new()
    {
        ProxyId = "web-sidecar-proxy",
        ProxyCluster = "web",
        Datacenter = "dc1",
        Settings = settings ?? BootstrapSettings.None,
    };

    private static BootstrapSettings Settings(string configJson, string? defaultsJson = null, Func<string, string?>? env = null)
    {
        using var config = JsonDocument.Parse(configJson);
        using var defaults = defaultsJson is null ? null : JsonDocument.Parse(defaultsJson);
        return BootstrapSettings.FromConfig(env, defaults?.RootElement, config.RootElement);
    }

    public static TheoryData<string> GoldenCases => ["defaults", "token-tls", "metrics-tracing"];

    private static BootstrapInput Case(string name) => name switch
    {
        "defaults" => Input(),
        "token-tls" => Input() with
        {
            Token = "3f0a5b4e-ac7d-4e0b-9d7b-7d4c7e1c0a11",
            AgentGrpcAddress = "10.0.0.5",
            AgentGrpcPort = 8503,
            AgentGrpcTls = true,
            AgentCaPem = CaPem,
            AdminBindPort = 19001,
            AdminAccessLogPath = "/var/log/envoy-admin.log",
        },
        "metrics-tracing" => Input(Settings($$"""
            {
              "envoy_prometheus_bind_addr": "0.0.0.0:9102",
              "envoy_stats_bind_addr": "0.0.0.0:9103",
              "envoy_statsd_url": "udp://127.0.0.1:8125",
              "envoy_dogstatsd_url": "unix:///var/run/dogstatsd.sock",
              "envoy_stats_tags": ["team=payments", "canary"],
              "envoy_stats_flush_interval": "5s",
              "envoy_tracing_json": {{JsonSerializer.Serialize(ZipkinTracing)}},
              "envoy_extra_static_listeners_json": {{JsonSerializer.Serialize(ExtraListener)}}
            }
            """)),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void Build_MatchesGoldenFile(string name) => BootstrapGolden.Assert(name, BootstrapBuilder.Build(Case(name)).Json);

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void Build_JsonParsesBackIntoTheSameMessage(string name)
    {
        var result = BootstrapBuilder.Build(Case(name));

        var parser = new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(BootstrapBuilder.TypeRegistry));
        var parsed = parser.Parse<Envoy.Config.Bootstrap.V3.Bootstrap>(result.Json);

        Assert.Equal(result.Bootstrap, parsed);
        Assert.Equal(result.Bootstrap, BootstrapBuilder.Parse(result.Json));
    }

    [Fact]
    public void Build_Defaults_NodeAdminAndAdsOverLocalAgent()
    {
        var b = BootstrapBuilder.Build(Input()).Bootstrap;

        Assert.Equal(("web-sidecar-proxy", "web"), (b.Node.Id, b.Node.Cluster));
        Assert.Equal("default", b.Node.Metadata.Fields["namespace"].StringValue);
        Assert.Equal("default", b.Node.Metadata.Fields["partition"].StringValue);
        Assert.Equal(("127.0.0.1", 19000u), (b.Admin.Address.SocketAddress.Address, b.Admin.Address.SocketAddress.PortValue));
        Assert.Equal("/dev/null", b.Admin.AccessLog.Single().TypedConfig.Unpack<Envoy.Extensions.AccessLoggers.File.V3.FileAccessLog>().Path);

        var agent = Assert.Single(b.StaticResources.Clusters);
        Assert.Equal(BootstrapBuilder.LocalAgentClusterName, agent.Name);
        Assert.Equal(Cluster.Types.DiscoveryType.Static, agent.Type);
        Assert.Equal(TimeSpan.FromSeconds(1), agent.ConnectTimeout.ToTimeSpan());
        var options = agent.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].Unpack<HttpProtocolOptions>();
        Assert.NotNull(options.ExplicitHttpConfig.Http2ProtocolOptions);
        var address = agent.LoadAssignment.Endpoints.Single().LbEndpoints.Single().Endpoint.Address.SocketAddress;
        Assert.Equal(("127.0.0.1", 8502u), (address.Address, address.PortValue));
        Assert.Null(agent.TransportSocket);
        Assert.Empty(b.StaticResources.Listeners);

        var ads = b.DynamicResources.AdsConfig;
        Assert.Equal(Envoy.Config.Core.V3.ApiConfigSource.Types.ApiType.DeltaGrpc, ads.ApiType);
        Assert.Equal(Envoy.Config.Core.V3.ApiVersion.V3, ads.TransportApiVersion);
        Assert.Equal(BootstrapBuilder.LocalAgentClusterName, ads.GrpcServices.Single().EnvoyGrpc.ClusterName);
        Assert.Empty(ads.GrpcServices.Single().InitialMetadata);
        Assert.NotNull(b.DynamicResources.LdsConfig.Ads);
        Assert.NotNull(b.DynamicResources.CdsConfig.Ads);
        Assert.Equal(Envoy.Config.Core.V3.ApiVersion.V3, b.DynamicResources.CdsConfig.ResourceApiVersion);
        Assert.Equal(1048576, b.LayeredRuntime.Layers.Single().StaticLayer.Fields["re2.max_program_size.error_level"].NumberValue);
        Assert.Null(b.Tracing);
        Assert.Empty(b.StatsSinks);
    }

    [Fact]
    public void Build_Token_SentAsXConsulTokenMetadata()
    {
        var b = BootstrapBuilder.Build(Input() with { Token = "secret" }).Bootstrap;

        var metadata = Assert.Single(b.DynamicResources.AdsConfig.GrpcServices.Single().InitialMetadata);
        Assert.Equal(("x-consul-token", "secret"), (metadata.Key, metadata.Value));
    }

    [Fact]
    public void Build_GrpcTls_LocalAgentTrustsTheGivenCa()
    {
        var b = BootstrapBuilder.Build(Input() with { AgentGrpcTls = true, AgentCaPem = CaPem }).Bootstrap;

        var socket = b.StaticResources.Clusters[0].TransportSocket;
        var tls = socket.TypedConfig.Unpack<UpstreamTlsContext>();
        Assert.Equal(CaPem, tls.CommonTlsContext.ValidationContext.TrustedCa.InlineString);
    }

    [Fact]
    public void Build_GrpcTlsWithoutCa_Throws()
    {
        var e = Assert.Throws<BootstrapException>(() => BootstrapBuilder.Build(Input() with { AgentGrpcTls = true }));
        Assert.Equal("agent gRPC TLS", e.Setting);
    }

    [Fact]
    public void Build_UnixSocketAgent_PipeAddress()
    {
        var b = BootstrapBuilder.Build(Input() with { AgentGrpcSocketPath = "/run/mesh/grpc.sock" }).Bootstrap;

        Assert.Equal("/run/mesh/grpc.sock", b.StaticResources.Clusters[0].LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.Pipe.Path);
    }

    [Fact]
    public void Build_PrometheusAndStatsListeners_ShareOneSelfAdminClusterOnLoopback()
    {
        var input = Input(Settings("""{"envoy_prometheus_bind_addr":"0.0.0.0:9102","envoy_stats_bind_addr":"[::]:9103"}""")) with { AdminBindAddress = "0.0.0.0", AdminBindPort = 19005 };
        var b = BootstrapBuilder.Build(input).Bootstrap;

        var selfAdmin = Assert.Single(b.StaticResources.Clusters, c => c.Name == BootstrapBuilder.SelfAdminClusterName);
        var address = selfAdmin.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress;
        Assert.Equal(("127.0.0.1", 19005u), (address.Address, address.PortValue));
        Assert.Equal(["envoy_prometheus_metrics_listener", "envoy_metrics_listener"], b.StaticResources.Listeners.Select(l => l.Name));

        var prometheus = b.StaticResources.Listeners[0];
        Assert.Equal(("0.0.0.0", 9102u), (prometheus.Address.SocketAddress.Address, prometheus.Address.SocketAddress.PortValue));
        var hcm = prometheus.FilterChains[0].Filters[0].TypedConfig.Unpack<HttpConnectionManager>();
        var routes = hcm.RouteConfig.VirtualHosts.Single().Routes;
        Assert.Equal("/metrics", routes[0].Match.Path);
        Assert.Equal(("self_admin", "/stats/prometheus"), (routes[0].Route_.Cluster, routes[0].Route_.PrefixRewrite));
        Assert.Equal(404u, routes[1].DirectResponse.Status);

        var stats = b.StaticResources.Listeners[1];
        Assert.Equal("::", stats.Address.SocketAddress.Address);
        var statsRoute = stats.FilterChains[0].Filters[0].TypedConfig.Unpack<HttpConnectionManager>().RouteConfig.VirtualHosts[0].Routes[0];
        Assert.Equal(("/stats", "/stats"), (statsRoute.Match.Prefix, statsRoute.Route_.PrefixRewrite));
    }

    [Fact]
    public void Build_StatsdAndDogstatsdUrls_BecomeSinks()
    {
        var b = BootstrapBuilder.Build(Input(Settings("""{"envoy_statsd_url":"udp://127.0.0.1:8125","envoy_dogstatsd_url":"$DD_URL"}""",
            env: n => n == "DD_URL" ? "unix:///var/run/dd.sock" : null))).Bootstrap;

        Assert.Equal(["envoy.stat_sinks.statsd", "envoy.stat_sinks.dog_statsd"], b.StatsSinks.Select(s => s.Name));
        var statsd = b.StatsSinks[0].TypedConfig.Unpack<StatsdSink>();
        Assert.Equal(("127.0.0.1", 8125u), (statsd.Address.SocketAddress.Address, statsd.Address.SocketAddress.PortValue));
        Assert.Equal("/var/run/dd.sock", b.StatsSinks[1].TypedConfig.Unpack<DogStatsdSink>().Address.Pipe.Path);
    }

    [Fact]
    public void Build_TracingJson_TopLevelTracing()
    {
        var b = BootstrapBuilder.Build(Input(Settings(JsonSerializer.Serialize(new Dictionary<string, string> { ["envoy_tracing_json"] = ZipkinTracing })))).Bootstrap;

        Assert.Equal("envoy.tracers.zipkin", b.Tracing.Http.Name);
        var zipkin = b.Tracing.Http.TypedConfig.Unpack<ZipkinConfig>();
        Assert.Equal(("zipkin", "/api/v2/spans"), (zipkin.CollectorCluster, zipkin.CollectorEndpoint));
    }

    [Fact]
    public void Build_StatsTags_UserTagsFirstAndOverrideOwnTags()
    {
        var b = BootstrapBuilder.Build(Input(Settings("""{"envoy_stats_tags":["Local_Cluster=override","canary"]}"""))).Bootstrap;

        var tags = b.StatsConfig.StatsTags;
        Assert.Equal(("local_cluster", "override"), (tags[0].TagName, tags[0].FixedValue));
        Assert.Equal(("canary", "1"), (tags[1].TagName, tags[1].FixedValue));
        Assert.Single(tags, t => t.TagName == "local_cluster");
        Assert.Equal("web", tags.Single(t => t.TagName == "consul.source.service").FixedValue);
        Assert.Equal("dc1", tags.Single(t => t.TagName == "consul.source.datacenter").FixedValue);
        Assert.True(b.StatsConfig.UseAllDefaultTags);
    }

    [Fact]
    public void Build_StatsConfigJson_ReplacesGeneratedTags()
    {
        var b = BootstrapBuilder.Build(Input(Settings("""{"envoy_stats_config_json":"{\"stats_tags\":[{\"tag_name\":\"x\",\"fixed_value\":\"y\"}]}"}"""))).Bootstrap;

        Assert.Equal("x", Assert.Single(b.StatsConfig.StatsTags).TagName);
    }

    // Consul's exact regexes (from its bootstrap golden files): dashboards built on them must keep working.
    [Theory]
    [InlineData("consul.destination.service", @"^cluster\.(?:passthrough~)?((?:[^.]+~)?(?:[^.]+\.)?([^.]+)\.[^.]+\.(?:[^.]+\.)?[^.]+\.[^.]+\.[^.]+\.consul\.)")]
    [InlineData("consul.destination.datacenter", @"^cluster\.(?:passthrough~)?((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.(?:[^.]+\.)?([^.]+)\.internal[^.]*\.[^.]+\.consul\.)")]
    [InlineData("consul.upstream.namespace", @"^(?:tcp|http)\.upstream(?:_peered)?\.([^.]+(?:\.([^.]+))?(?:\.[^.]+)?\.[^.]+\.)")]
    [InlineData("consul.target", @"^cluster\.(((?:[^.]+~)?(?:[^.]+\.)?[^.]+\.[^.]+\.(?:[^.]+\.)?[^.]+)\.[^.]+\.[^.]+\.consul\.)")]
    public void Build_StatsTagRegexes_AreConsuls(string tag, string regex)
    {
        var tags = BootstrapBuilder.Build(Input()).Bootstrap.StatsConfig.StatsTags;
        Assert.Equal(regex, tags.Single(t => t.TagName == tag).Regex);
    }

    [Theory]
    [InlineData("consul.destination.service", "cluster.db.default.dc1.internal.11111111-2222-3333-4444-555555555555.consul.upstream_cx_total", "db")]
    [InlineData("consul.destination.service_subset", "cluster.v2.db.default.dc1.internal.11111111-2222-3333-4444-555555555555.consul.upstream_cx_total", "v2")]
    [InlineData("consul.destination.datacenter", "cluster.db.default.dc2.internal.11111111-2222-3333-4444-555555555555.consul.upstream_cx_total", "dc2")]
    [InlineData("consul.destination.trust_domain", "cluster.db.default.dc1.internal.11111111-2222-3333-4444-555555555555.consul.bind_errors", "11111111-2222-3333-4444-555555555555")]
    [InlineData("consul.upstream.service", "tcp.upstream.db.default.dc1.downstream_cx_total", "db")]
    [InlineData("consul.upstream.datacenter", "http.upstream.web.default.dc1.downstream_cx_total", "dc1")]
    public void Build_StatsTagRegexes_ExtractThePartOfMeshNames(string tag, string metric, string value)
    {
        var regex = BootstrapBuilder.Build(Input()).Bootstrap.StatsConfig.StatsTags.Single(t => t.TagName == tag).Regex;

        var m = Regex.Match(metric, regex);

        Assert.True(m.Success);
        Assert.Equal(value, m.Groups[2].Value);
    }

    [Theory]
    [InlineData("envoy_tracing_json", "{not json")]
    [InlineData("envoy_tracing_json", """{"http":{"name":"z","typed_config":{"@type":"type.googleapis.com/no.such.Type"}}}""")]
    [InlineData("envoy_tracing_json", """{"htp":{}}""")]
    [InlineData("envoy_extra_static_listeners_json", "{\"name\":\"a\"},{\"name\":")]
    [InlineData("envoy_extra_static_listeners_json", """{"name":"a","adress":{}}""")]
    [InlineData("envoy_extra_static_listeners_json", "42")]
    [InlineData("envoy_stats_config_json", """{"stats_tags":"x"}""")]
    [InlineData("envoy_extra_stats_sinks_json", """{"name":"s","typed_config":{"@type":"type.googleapis.com/envoy.config.metrics.v3.StatsdSink","adress":1}}""")]
    public void Build_BadJsonSetting_ErrorNamesTheSetting(string key, string value)
    {
        var settings = Settings(JsonSerializer.Serialize(new Dictionary<string, string> { [key] = value }));

        var e = Assert.Throws<BootstrapException>(() => BootstrapBuilder.Build(Input(settings)));

        Assert.Equal(key, e.Setting);
        Assert.StartsWith(key + ": ", e.Message);
    }

    [Theory]
    [InlineData("envoy_prometheus_bind_addr", "localhost:9102")]
    [InlineData("envoy_prometheus_bind_addr", "0.0.0.0")]
    [InlineData("envoy_stats_bind_addr", "0.0.0.0:70000")]
    [InlineData("envoy_stats_bind_addr", "::1:9000")]
    [InlineData("envoy_statsd_url", "tcp://127.0.0.1:8125")]
    [InlineData("envoy_dogstatsd_url", "udp://127.0.0.1")]
    [InlineData("envoy_stats_flush_interval", "soon")]
    [InlineData("envoy_stats_flush_interval", "-5s")]
    public void Build_BadSettingValue_ErrorNamesTheSetting(string key, string value)
    {
        var settings = Settings(JsonSerializer.Serialize(new Dictionary<string, string> { [key] = value }));

        var e = Assert.Throws<BootstrapException>(() => BootstrapBuilder.Build(Input(settings)));

        Assert.Equal(key, e.Setting);
    }

    [Fact]
    public void Build_ExtraListenerNamedLikeAGeneratedOne_Throws()
    {
        var settings = Settings("""{"envoy_prometheus_bind_addr":"0.0.0.0:9102","envoy_extra_static_listeners_json":"{\"name\":\"envoy_prometheus_metrics_listener\"}"}""");

        var e = Assert.Throws<BootstrapException>(() => BootstrapBuilder.Build(Input(settings)));

        Assert.Equal("envoy_extra_static_listeners_json", e.Setting);
    }

    [Fact]
    public void Build_ExtraListenersCommaSeparatedOrArray_AllAdded()
    {
        var commas = BootstrapBuilder.Build(Input(Settings("""{"envoy_extra_static_listeners_json":"{\"name\":\"a\"},{\"name\":\"b\"}"}"""))).Bootstrap;
        var array = BootstrapBuilder.Build(Input(Settings("""{"envoy_extra_static_listeners_json":[{"name":"a"},{"name":"b"}]}"""))).Bootstrap;

        Assert.Equal(["a", "b"], commas.StaticResources.Listeners.Select(l => l.Name));
        Assert.Equal(commas, array);
    }

    [Theory]
    [InlineData("not-an-ip", 8502, "agent gRPC address")]
    [InlineData("127.0.0.1", 0, "agent gRPC port")]
    public void Build_BadAgentAddress_Throws(string host, int port, string setting)
    {
        var e = Assert.Throws<BootstrapException>(() => BootstrapBuilder.Build(Input() with { AgentGrpcAddress = host, AgentGrpcPort = port }));
        Assert.Equal(setting, e.Setting);
    }

    [Fact]
    public void FromConfig_ProxyConfigWinsKeyByKeyOverProxyDefaults()
    {
        var settings = Settings(
            configJson: """{"envoy_stats_bind_addr":"127.0.0.1:9200"}""",
            defaultsJson: """{"envoy_stats_bind_addr":"0.0.0.0:9100","envoy_prometheus_bind_addr":"0.0.0.0:9102","protocol":"http"}""");

        Assert.Equal("127.0.0.1:9200", settings.StatsBindAddr);
        Assert.Equal("0.0.0.0:9102", settings.PrometheusBindAddr);
    }

    [Theory]
    [InlineData("""{"envoy_stats_bind_addr":9100}""", "envoy_stats_bind_addr")]
    [InlineData("""{"envoy_stats_tags":{"a":"b"}}""", "envoy_stats_tags")]
    [InlineData("""{"envoy_stats_tags":["a",1]}""", "envoy_stats_tags")]
    [InlineData("""{"envoy_tracing_json":true}""", "envoy_tracing_json")]
    [InlineData("""{"envoy_statsd_url":"$UNSET_VARIABLE"}""", "envoy_statsd_url")]
    public void FromConfig_WrongType_ErrorNamesTheSetting(string config, string key)
    {
        var e = Assert.Throws<BootstrapException>(() => Settings(config, env: _ => null));
        Assert.Equal(key, e.Setting);
    }

    [Fact]
    public void FromConfig_SingleStringTag_IsOneTag()
    {
        Assert.Equal(["env=prod"], Settings("""{"envoy_stats_tags":"env=prod"}""").StatsTags);
    }
}
