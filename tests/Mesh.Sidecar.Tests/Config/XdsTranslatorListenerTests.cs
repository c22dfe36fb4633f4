using System.Net;
using System.Security.Authentication;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Rbac;
using Mesh.Xds.Cache;
using Mesh.Xds.Tests.Resources.Listeners;

namespace Mesh.Sidecar.Tests.Config;

public class XdsTranslatorListenerTests
{
    private sealed record Request(string? Principal, string Path = "/", string Method = "GET", Dictionary<string, string>? Headers = null) : IRbacSubject
    {
        public bool IsHttp => true;

        public string? GetHeader(string name) =>
            name == ":method" ? Method : Headers is not null && Headers.TryGetValue(name, out var v) ? v : null;
    }

    private sealed record Connection(string? Principal) : IRbacSubject
    {
        public bool IsHttp => false;
        public string Path => "";
        public string? GetHeader(string name) => null;
    }

    [Fact]
    public void Apply_TcpSidecarListeners_PublicListenerTerminatesMtlsAndEnforcesIntentions()
    {
        var state = TranslatorFixture.Translate(ListenerFixtures.TcpSidecar());

        var listener = state.Listeners["public_listener:10.0.0.5:21000"];
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 21000), listener.Address);
        Assert.Equal(TrafficDirection.Inbound, listener.Direction);
        var tls = Assert.IsType<DownstreamTlsConfig>(listener.Tls);
        Assert.Equal("leaf", tls.CertificateSecret);
        Assert.Equal("roots", tls.ValidationSecret);
        Assert.True(tls.RequireClientCertificate);
        Assert.Empty(tls.Alpn);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, tls.Protocols);
        var tcp = Assert.IsType<TcpProxyConfig>(listener.App);
        Assert.Equal("local_app", tcp.Cluster);
        Assert.Null(tcp.WeightedClusters);

        var rbac = Assert.IsType<RbacConfig>(listener.NetworkRbac);
        Assert.Equal(RbacAction.Allow, rbac.Action);
        Assert.Equal("connect_authz", rbac.StatPrefix);
        Assert.Equal("consul-intentions-layer4", Assert.Single(rbac.Policies).Name);
        Assert.True(RbacEvaluator.Evaluate(rbac, new Connection(ListenerFixtures.SpiffeId("web"))).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Connection(ListenerFixtures.SpiffeId("ops"))).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Connection(null)).Allowed);
    }

    [Fact]
    public void Apply_TcpSidecarListeners_UpstreamListenerIsPlainOutboundTcpToTargetCluster()
    {
        var state = TranslatorFixture.Translate(ListenerFixtures.TcpSidecar());

        var listener = state.Listeners["counting:127.0.0.1:5000"];
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5000), listener.Address);
        Assert.Equal(TrafficDirection.Outbound, listener.Direction);
        Assert.Null(listener.Tls);
        Assert.Null(listener.NetworkRbac);
        var tcp = Assert.IsType<TcpProxyConfig>(listener.App);
        Assert.Equal($"counting.default.dc1.internal.{ListenerFixtures.TrustDomain}", tcp.Cluster);
        Assert.Equal("upstream.counting.default.dc1", tcp.StatPrefix);
        Assert.Null(tcp.IdleTimeout);
        Assert.Contains(tcp.Cluster!, state.Clusters.Keys);
    }

    [Fact]
    public void Apply_HttpSidecarListeners_PublicListenerRoutesInlineAndAppliesL7Intentions()
    {
        var state = TranslatorFixture.Translate(ListenerFixtures.HttpSidecar());

        var listener = state.Listeners["public_listener:10.0.0.5:21000"];
        Assert.Null(listener.NetworkRbac);
        Assert.Equal<string>(["http/1.1"], listener.Tls!.Alpn);
        var hcm = Assert.IsType<HttpConnectionManagerConfig>(listener.App);
        Assert.Equal(HttpCodec.Auto, hcm.Codec);
        Assert.Null(hcm.RdsName);
        Assert.True(hcm.ForwardClientCert);
        Assert.Null(hcm.Tracing);
        var routes = Assert.IsType<RouteTableConfig>(hcm.InlineRoutes);
        var route = Assert.Single(Assert.Single(routes.VirtualHosts).Routes);
        Assert.Equal("local_app", route.Action.Cluster);
        Assert.Equal(TimeSpan.FromSeconds(15), route.Action.Timeout);
        Assert.Equal(PathMatchKind.Prefix, route.Match.PathKind);

        var rbac = Assert.IsType<RbacConfig>(hcm.HttpRbac);
        Assert.Equal(RbacAction.Allow, rbac.Action);
        Assert.Equal(rbac.Policies.Select(p => p.Name).Order(StringComparer.Ordinal), rbac.Policies.Select(p => p.Name));
        var web = ListenerFixtures.SpiffeId("web");
        Assert.True(RbacEvaluator.Evaluate(rbac, new Request(web, "/v1/items")).Allowed);
        Assert.True(RbacEvaluator.Evaluate(rbac, new Request(web, "/health", "POST")).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Request(web, "/v1/admin/users")).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Request(web, "/v1/items", "DELETE")).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Request(web, "/v1/items", Headers: new() { ["x-debug"] = "1" })).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Request(ListenerFixtures.SpiffeId("ops"), "/health")).Allowed);
        Assert.True(RbacEvaluator.Evaluate(rbac, new Request(ListenerFixtures.SpiffeId("billing"), "/anything")).Allowed);
    }

    [Fact]
    public void Apply_HttpSidecarListeners_UpstreamListenerNamesItsRdsRouteWithoutRbac()
    {
        var state = TranslatorFixture.Translate(ListenerFixtures.HttpSidecar());

        var listener = state.Listeners["billing:127.0.0.1:9191"];
        var hcm = Assert.IsType<HttpConnectionManagerConfig>(listener.App);
        Assert.Equal("billing", hcm.RdsName);
        Assert.Null(hcm.InlineRoutes);
        Assert.Null(hcm.HttpRbac);
        Assert.False(hcm.ForwardClientCert);
        Assert.Equal<string>(["billing"], state.RouteNames());
        Assert.Contains("billing", state.Routes.Keys);
        Assert.Equal<string>(["leaf", "roots"], state.SecretNames());
    }

    [Fact]
    public void Apply_GrpcLocalAppWithZipkinTracing_Http2CodecAndTracingConfig()
    {
        var snapshot = Mesh.Xds.Tests.Resources.SnapshotFixtures.SidecarHttp() with
        {
            Settings = Mesh.Xds.ProxyCfg.ProxySettings.Default with { TracingJson = ListenerFixtures.ZipkinTracingJson },
        };
        var state = TranslatorFixture.Translate(snapshot);

        var publicListener = state.Listeners["public_listener:10.0.0.1:21000"];
        var hcm = Assert.IsType<HttpConnectionManagerConfig>(publicListener.App);
        Assert.Equal(HttpCodec.Http2, hcm.Codec);
        Assert.Equal<string>(["h2"], publicListener.Tls!.Alpn);
        Assert.Equal(new TracingConfig(100, null), hcm.Tracing);
        var upstream = Assert.IsType<HttpConnectionManagerConfig>(state.Listeners["api:127.0.0.1:9192"].App);
        Assert.Equal(new TracingConfig(100, null), upstream.Tracing);
    }

    [Fact]
    public void Apply_DenyByDefaultOffAndNoIntentions_RbacDenyListWithNoPoliciesAllowsAll()
    {
        var snapshot = ListenerFixtures.Sidecar("db", "tcp") with { DefaultAllow = true };
        var state = TranslatorFixture.Translate(snapshot);

        var rbac = state.Listeners["public_listener:10.0.0.5:21000"].NetworkRbac!;
        Assert.Equal(RbacAction.Deny, rbac.Action);
        Assert.Empty(rbac.Policies);
        Assert.True(RbacEvaluator.Evaluate(rbac, new Connection(ListenerFixtures.SpiffeId("anyone"))).Allowed);
    }

    [Fact]
    public void Apply_ListenersOnly_StateKeepsOtherTypes()
    {
        var resources = TranslatorFixture.Build(ListenerFixtures.TcpSidecar());
        var translator = new XdsTranslator();
        var withClusters = translator.Apply(SidecarState.Empty, TypeUrls.Cluster, TranslatorFixture.Of(resources, TypeUrls.Cluster));
        var withListeners = translator.Apply(withClusters, TypeUrls.Listener, TranslatorFixture.Of(resources, TypeUrls.Listener));

        Assert.Same(withClusters.Clusters, withListeners.Clusters);
        Assert.Equal(2, withListeners.Listeners.Count);
        var empty = translator.Apply(withListeners, TypeUrls.Listener, []);
        Assert.Empty(empty.Listeners);
        Assert.Same(withClusters.Clusters, empty.Clusters);
    }
}
