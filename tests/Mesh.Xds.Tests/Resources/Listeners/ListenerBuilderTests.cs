using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Trace.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Resources;
using static Mesh.Xds.Tests.Resources.Listeners.ListenerFixtures;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;

namespace Mesh.Xds.Tests.Resources.Listeners;

/// <summary>The listener builder: Consul's names and filter chains for sidecars, API listeners for proxyless clients.</summary>
public sealed class ListenerBuilderTests
{
    private static ListenerBuildResult Build(ConfigSnapshot snapshot)
    {
        var result = ListenerBuilder.Build(snapshot);
        // Pure: the same snapshot gives the same bytes.
        Assert.Equal(result.Listeners.Select(l => l.ToByteString()), ListenerBuilder.Build(snapshot).Listeners.Select(l => l.ToByteString()));
        return result;
    }

    private static Listener Named(ListenerBuildResult result, string name) => Assert.Single(result.Listeners, l => l.Name == name);

    private static HttpConnectionManager Hcm(Filter filter)
    {
        Assert.Equal("envoy.filters.network.http_connection_manager", filter.Name);
        return filter.TypedConfig.Unpack<HttpConnectionManager>();
    }

    [Fact]
    public void Build_TcpSidecar_PublicListenerRbacThenTcpProxyOverSdsTls()
    {
        var result = Build(TcpSidecar());

        Assert.Empty(result.Problems);
        Assert.Equal(["public_listener:10.0.0.5:21000", "counting:127.0.0.1:5000"], result.Listeners.Select(l => l.Name));
        var listener = result.Listeners[0];
        Assert.Equal(TrafficDirection.Inbound, listener.TrafficDirection);
        Assert.Equal("10.0.0.5", listener.Address.SocketAddress.Address);
        Assert.Equal(21000u, listener.Address.SocketAddress.PortValue);
        var chain = Assert.Single(listener.FilterChains);
        Assert.Equal(["envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy"], chain.Filters.Select(f => f.Name));
        var rbac = chain.Filters[0].TypedConfig.Unpack<NetworkRbac>();
        Assert.Equal("connect_authz", rbac.StatPrefix);
        Assert.True(RbacEvaluator.Allows(rbac.Rules, SpiffeId("web"), null));
        Assert.False(RbacEvaluator.Allows(rbac.Rules, SpiffeId("api"), null));
        var proxy = chain.Filters[1].TypedConfig.Unpack<TcpProxy>();
        Assert.Equal(("public_listener", "local_app"), (proxy.StatPrefix, proxy.Cluster));

        Assert.Equal("tls", chain.TransportSocket.Name);
        var tls = chain.TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>();
        Assert.True(tls.RequireClientCertificate);
        var leaf = Assert.Single(tls.CommonTlsContext.TlsCertificateSdsSecretConfigs);
        Assert.Equal("leaf", leaf.Name);
        Assert.NotNull(leaf.SdsConfig.Ads);
        Assert.Equal(ApiVersion.V3, leaf.SdsConfig.ResourceApiVersion);
        Assert.Equal("roots", tls.CommonTlsContext.ValidationContextSdsSecretConfig.Name);
        Assert.NotNull(tls.CommonTlsContext.ValidationContextSdsSecretConfig.SdsConfig.Ads);
        Assert.Empty(tls.CommonTlsContext.AlpnProtocols);

        ListenerGolden.Assert("sidecar-tcp", result.Listeners);
    }

    [Fact]
    public void Build_TcpUpstream_TcpProxyToTheResolverTargetsSni()
    {
        var result = Build(TcpSidecar());

        var listener = Named(result, "counting:127.0.0.1:5000");
        Assert.Equal(TrafficDirection.Outbound, listener.TrafficDirection);
        Assert.Equal(("127.0.0.1", 5000u), (listener.Address.SocketAddress.Address, listener.Address.SocketAddress.PortValue));
        var filter = Assert.Single(Assert.Single(listener.FilterChains).Filters);
        var proxy = filter.TypedConfig.Unpack<TcpProxy>();
        Assert.Equal("upstream.counting.default.dc1", proxy.StatPrefix);
        Assert.Equal($"counting.default.dc1.internal.{TrustDomain}", proxy.Cluster);
        Assert.Null(listener.FilterChains[0].TransportSocket);
    }

    [Fact]
    public void Build_HttpSidecar_ConnectionManagerWithRbacThenRouterAndLocalRoute()
    {
        var result = Build(HttpSidecar());

        Assert.Empty(result.Problems);
        var chain = Assert.Single(Named(result, "public_listener:10.0.0.5:21000").FilterChains);
        var hcm = Hcm(Assert.Single(chain.Filters));
        Assert.Equal("public_listener", hcm.StatPrefix);
        Assert.Equal(HttpConnectionManager.Types.CodecType.Auto, hcm.CodecType);
        Assert.Equal([HttpFilters.RbacName, HttpFilters.RouterName], hcm.HttpFilters.Select(f => f.Name));
        Assert.Equal("type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", hcm.HttpFilters[^1].TypedConfig.TypeUrl);
        var rbac = hcm.HttpFilters[0].TypedConfig.Unpack<HttpRbac>();
        Assert.Equal([RbacBuilder.Layer7PolicyPrefix + "0", RbacBuilder.Layer4Policy], rbac.Rules.Policies.Keys);

        Assert.Equal("public_listener", hcm.RouteConfig.Name);
        var host = Assert.Single(hcm.RouteConfig.VirtualHosts);
        Assert.Equal(["*"], host.Domains);
        var route = Assert.Single(host.Routes);
        Assert.Equal("/", route.Match.Prefix);
        Assert.Equal("local_app", route.Route_.Cluster);
        Assert.Equal(TimeSpan.FromSeconds(15), route.Route_.Timeout.ToTimeSpan());
        Assert.Null(hcm.Tracing);
        Assert.Equal(HttpConnectionManager.Types.ForwardClientCertDetails.AppendForward, hcm.ForwardClientCertDetails);
        Assert.Equal(["http/1.1"], chain.TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>().CommonTlsContext.AlpnProtocols);

        ListenerGolden.Assert("sidecar-http-l7", result.Listeners);
    }

    [Fact]
    public void Build_HttpUpstream_ConnectionManagerWithRdsOverAdsAndRouterOnly()
    {
        var result = Build(HttpSidecar());

        var listener = Named(result, "billing:127.0.0.1:9191");
        Assert.Equal(TrafficDirection.Outbound, listener.TrafficDirection);
        var hcm = Hcm(Assert.Single(Assert.Single(listener.FilterChains).Filters));
        Assert.Equal("upstream.billing.default.dc1", hcm.StatPrefix);
        Assert.Equal("billing", hcm.Rds.RouteConfigName);
        Assert.NotNull(hcm.Rds.ConfigSource.Ads);
        Assert.Equal(ApiVersion.V3, hcm.Rds.ConfigSource.ResourceApiVersion);
        Assert.Equal([HttpFilters.RouterName], hcm.HttpFilters.Select(f => f.Name));
    }

    [Theory]
    [InlineData("http2")]
    [InlineData("grpc")]
    public void Build_Http2LikeLocal_Http2CodecAndH2Alpn(string protocol)
    {
        var result = Build(ListenerFixtures.Sidecar("greeter", protocol));

        var chain = Assert.Single(result.Listeners[0].FilterChains);
        var hcm = Hcm(Assert.Single(chain.Filters));
        Assert.Equal(HttpConnectionManager.Types.CodecType.Http2, hcm.CodecType);
        Assert.NotNull(hcm.Http2ProtocolOptions);
        Assert.Equal(["h2"], chain.TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>().CommonTlsContext.AlpnProtocols);
        Assert.Null(hcm.RouteConfig.VirtualHosts[0].Routes[0].Route_.Timeout);
    }

    [Fact]
    public void Build_BindOverrides_PublicListenerUsesThem()
    {
        var snapshot = TcpSidecar() with { Settings = ProxySettings.Default with { BindAddress = "127.0.0.2", BindPort = 21500 } };

        var listener = Build(snapshot).Listeners[0];

        Assert.Equal("public_listener:127.0.0.2:21500", listener.Name);
        Assert.Equal(("127.0.0.2", 21500u), (listener.Address.SocketAddress.Address, listener.Address.SocketAddress.PortValue));
        ListenerGolden.Assert("sidecar-bind-override", [listener]);
    }

    [Fact]
    public void Build_NoServiceAddress_PublicListenerOnAllInterfaces()
    {
        var listener = Build(ListenerFixtures.Sidecar("counting", "tcp", address: "")).Listeners[0];

        Assert.Equal("public_listener:0.0.0.0:21000", listener.Name);
        Assert.Equal("0.0.0.0", listener.Address.SocketAddress.Address);
    }

    [Fact]
    public void Build_OnlyPortOverridden_KeepsTheServiceAddress()
    {
        var snapshot = ListenerFixtures.Sidecar("counting", "tcp") with { Settings = ProxySettings.Default with { BindPort = 20001 } };

        Assert.Equal("public_listener:10.0.0.5:20001", Build(snapshot).Listeners[0].Name);
    }

    [Fact]
    public void Build_UpstreamOnOtherBindAddress_ListenerNamedAndBoundThere()
    {
        var snapshot = ListenerFixtures.Sidecar("dashboard", "tcp") with { Upstreams = [Upstream("counting", 9001, "tcp", Chain("counting"), "127.0.0.9")] };

        var listener = Build(snapshot).Listeners[1];

        Assert.Equal("counting:127.0.0.9:9001", listener.Name);
        Assert.Equal("127.0.0.9", listener.Address.SocketAddress.Address);
    }

    [Fact]
    public void Build_UpstreamWithoutBindAddress_LoopbackInNameAndAddress()
    {
        var snapshot = ListenerFixtures.Sidecar("dashboard", "tcp") with { Upstreams = [Upstream("counting", 9001, "tcp", Chain("counting"), bindAddress: "")] };

        var listener = Build(snapshot).Listeners[1];

        Assert.Equal("counting:127.0.0.1:9001", listener.Name);
        Assert.Equal("127.0.0.1", listener.Address.SocketAddress.Address);
    }

    [Fact]
    public void Build_ValidTracingJson_EveryConnectionManagerTracesEveryRequest()
    {
        var snapshot = HttpSidecar() with { Settings = HttpSidecar().Settings with { TracingJson = ZipkinTracingJson } };

        var result = Build(snapshot);

        Assert.Empty(result.Problems);
        var managers = result.Listeners.Select(l => Hcm(l.FilterChains[0].Filters[0])).ToList();
        Assert.Equal(2, managers.Count);
        foreach (var hcm in managers)
        {
            Assert.Equal("envoy.tracers.zipkin", hcm.Tracing.Provider.Name);
            Assert.Equal(100, hcm.Tracing.RandomSampling.Value);
            var zipkin = hcm.Tracing.Provider.TypedConfig.Unpack<ZipkinConfig>();
            Assert.Equal(("zipkin", "/api/v2/spans"), (zipkin.CollectorCluster, zipkin.CollectorEndpoint));
            Assert.Equal(ZipkinConfig.Types.CollectorEndpointVersion.HttpJson, zipkin.CollectorEndpointVersion);
        }
        ListenerGolden.Assert("sidecar-http-tracing", result.Listeners);
    }

    [Fact]
    public void Build_OpenTelemetryTracingJsonInCamelCase_Parsed()
    {
        const string json = """
            {"http":{"name":"envoy.tracers.opentelemetry","typedConfig":{"@type":"type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
              "grpcService":{"envoyGrpc":{"clusterName":"otel"}},"serviceName":"api"}}}
            """;
        var snapshot = HttpSidecar() with { Settings = ProxySettings.Default with { TracingJson = json } };

        var result = Build(snapshot);

        Assert.Empty(result.Problems);
        var otel = Hcm(result.Listeners[0].FilterChains[0].Filters[0]).Tracing.Provider.TypedConfig.Unpack<OpenTelemetryConfig>();
        Assert.Equal(("otel", "api"), (otel.GrpcService.EnvoyGrpc.ClusterName, otel.ServiceName));
    }

    [Theory]
    [InlineData("{not json", "not a valid Envoy Tracing object")]
    [InlineData("""{"http":{"name":"x","typed_config":{"@type":"type.googleapis.com/envoy.config.trace.v3.DatadogConfig"}}}""", "not a valid Envoy Tracing object")]
    [InlineData("""{"http":{"name":"envoy.tracers.zipkin","typed_config":{"@type":"type.googleapis.com/envoy.config.trace.v3.ZipkinConfig","no_such_field":1}}}""", "not a valid Envoy Tracing object")]
    [InlineData("""{"http":{"nme":"typo"}}""", "not a valid Envoy Tracing object")]
    [InlineData("[]", "not a valid Envoy Tracing object")]
    [InlineData("{}", "no \"http\" provider")]
    public void Build_InvalidTracingJson_NoTracingAndAProblem(string json, string expected)
    {
        var snapshot = HttpSidecar() with { Settings = ProxySettings.Default with { TracingJson = json } };

        var result = Build(snapshot);

        var problem = Assert.Single(result.Problems);
        Assert.Contains("envoy_tracing_json", problem);
        Assert.Contains(expected, problem);
        Assert.Equal(2, result.Listeners.Count);
        Assert.All(result.Listeners, l => Assert.Null(Hcm(l.FilterChains[0].Filters[0]).Tracing));
    }

    [Fact]
    public void Build_TracingJsonOnTcpSidecar_NothingToTraceNoProblem()
    {
        var snapshot = TcpSidecar() with { Settings = ProxySettings.Default with { TracingJson = ZipkinTracingJson } };

        var result = Build(snapshot);

        Assert.Empty(result.Problems);
        Assert.All(result.Listeners, l => Assert.DoesNotContain(l.FilterChains[0].Filters, f => f.Name.Contains("http_connection_manager")));
    }

    [Fact]
    public void Build_Proxyless_OneApiListenerPerUpstreamAsGrpcRequires()
    {
        var result = Build(Proxyless());

        Assert.Empty(result.Problems);
        Assert.Equal(["greeter", "billing"], result.Listeners.Select(l => l.Name));
        foreach (var listener in result.Listeners)
        {
            Assert.Null(listener.Address);
            Assert.Empty(listener.FilterChains);
            Assert.Equal("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                listener.ApiListener.ApiListener_.TypeUrl);
            var hcm = listener.ApiListener.ApiListener_.Unpack<HttpConnectionManager>();
            Assert.Equal(listener.Name, hcm.Rds.RouteConfigName);
            Assert.NotNull(hcm.Rds.ConfigSource.Ads);
            var router = Assert.Single(hcm.HttpFilters);
            Assert.Equal(HttpFilters.RouterName, router.Name);
            Assert.True(router.TypedConfig.Is(Router.Descriptor));
        }
        ListenerGolden.Assert("proxyless", result.Listeners);
    }

    [Fact]
    public void Build_ProxylessWithTracingJson_IgnoresIt()
    {
        var snapshot = Proxyless() with { Settings = ProxySettings.Default with { TracingJson = "{broken" } };

        var result = Build(snapshot);

        Assert.Empty(result.Problems);
        Assert.Null(result.Listeners[0].ApiListener.ApiListener_.Unpack<HttpConnectionManager>().Tracing);
    }

    [Fact]
    public void Build_NoLocalService_OnlyUpstreamListeners()
    {
        var snapshot = TcpSidecar() with { Local = null };

        Assert.Equal(["counting:127.0.0.1:5000"], Build(snapshot).Listeners.Select(l => l.Name));
    }

    [Fact]
    public void Build_TcpChainNotStartingAtAResolver_ListenerLeftOutWithAProblem()
    {
        var chain = Chain("billing", HttpDefaults("billing"),
            """{"Kind":"service-router","Name":"billing","Routes":[{"Match":{"HTTP":{"PathPrefix":"/x"}},"Destination":{"Service":"billing"}}]}""");
        var snapshot = TcpSidecar() with { Upstreams = [Upstream("billing", 9191, "tcp", chain), .. TcpSidecar().Upstreams] };

        var result = Build(snapshot);

        var problem = Assert.Single(result.Problems);
        Assert.Contains("upstream billing", problem);
        Assert.Contains("router:billing", problem);
        Assert.Equal(["public_listener:10.0.0.5:21000", "counting:127.0.0.1:5000"], result.Listeners.Select(l => l.Name));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(70000)]
    public void Build_PortOutOfRange_ListenerLeftOutWithAProblem(int port)
    {
        var snapshot = TcpSidecar() with
        {
            Settings = ProxySettings.Default with { BindPort = port },
            Upstreams = [Upstream("counting", port, "tcp", Chain("counting"))],
        };

        var result = Build(snapshot);

        Assert.Empty(result.Listeners);
        Assert.Equal(2, result.Problems.Count);
        Assert.Contains($"port {port} is not between 1 and 65535", result.Problems[0]);
        Assert.Contains("upstream counting", result.Problems[1]);
    }

    [Fact]
    public void Build_NullSnapshot_Throws() => Assert.Throws<ArgumentNullException>(() => ListenerBuilder.Build(null!));
}
