using Mesh.State.Tables;
using Mesh.State.Watch;
using Mesh.Xds.ProxyCfg;

namespace Mesh.Xds.Tests.ProxyCfg;

public sealed class SnapshotAssemblerTests
{
    private static (MeshFixture Mesh, SnapshotAssembler Assembler) Demo()
    {
        var mesh = new MeshFixture();
        mesh.RegisterWithSidecar("counting", "counting-1", 9003, 21000);
        mesh.RegisterWithSidecar("dashboard", "dashboard", 9002, 21001, null, ("counting", 5000));
        return (mesh, new SnapshotAssembler(MeshFixture.Node, "dc1", defaultAllow: true));
    }

    private static ConfigSnapshot Sidecar(MeshFixture mesh, SnapshotAssembler assembler, string proxyId, WatchSet? ws = null)
    {
        var view = mesh.Store.View();
        var proxy = assembler.FindProxy(view, ws, proxyId) ?? throw new InvalidOperationException(proxyId + " is not registered");
        return assembler.Sidecar(view, ws, proxy, MeshFixture.Leaf()) ?? throw new InvalidOperationException("incomplete snapshot");
    }

    [Fact]
    public void Sidecar_DemoDashboard_HasItsIdentityUpstreamAndTheCountingSidecarAsEndpoint()
    {
        var (mesh, assembler) = Demo();

        var s = Sidecar(mesh, assembler, "dashboard-sidecar-proxy");

        Assert.Equal(ProxyMode.Sidecar, s.Mode);
        Assert.Equal(MeshFixture.TrustDomain, s.TrustDomain);
        Assert.Equal(new LocalService("dashboard", "dashboard", "0.0.0.0", 21001, "127.0.0.1", 9002, "tcp"), s.Local);
        var up = Assert.Single(s.Upstreams);
        Assert.Equal("counting:127.0.0.1:5000", up.ListenerName);
        var target = Assert.Single(up.Chain.Targets.Values);
        Assert.Equal($"counting.default.dc1.internal.{MeshFixture.TrustDomain}", target.SNI);
        // mTLS goes proxy to proxy: the endpoint is counting's sidecar (node address, proxy port), not counting itself.
        Assert.Equal([new ServiceEndpoint("10.0.0.1", 21000, true, 1)], up.Endpoints[target.ID].Endpoints);
        Assert.Equal("aa:bb", Assert.Single(s.Roots).Id);
    }

    [Fact]
    public void Sidecar_MissingLeafOrDestination_IsNotComplete()
    {
        var (mesh, assembler) = Demo();
        var view = mesh.Store.View();
        var proxy = assembler.FindProxy(view, null, "dashboard-sidecar-proxy")!;

        Assert.Null(assembler.Sidecar(view, null, proxy, leaf: null));
        Assert.Null(assembler.FindProxy(view, null, "dashboard"));
    }

    [Fact]
    public void Sidecar_CriticalUpstreamInstance_IsUnhealthyAndTheGroupIsSharedBetweenProxies()
    {
        var (mesh, assembler) = Demo();
        mesh.RegisterWithSidecar("web", "web-1", 8080, 21002, null, ("counting", 6000));
        mesh.Check("counting-1-sidecar-proxy", HealthStatus.Critical);

        var a = Sidecar(mesh, assembler, "dashboard-sidecar-proxy").Upstreams[0];
        var b = Sidecar(mesh, assembler, "web-1-sidecar-proxy").Upstreams[0];

        var group = a.Endpoints.Values.Single();
        Assert.False(Assert.Single(group.Endpoints).Healthy);
        Assert.Same(group, b.Endpoints.Values.Single());
    }

    [Fact]
    public void Sidecar_UnrelatedWrite_GivesAnEqualSnapshot_ButAnEndpointChangeDoesNot()
    {
        var (mesh, assembler) = Demo();
        var before = Sidecar(mesh, assembler, "dashboard-sidecar-proxy");

        mesh.Register(new ServiceInstance { Node = MeshFixture.Node, ID = "other", Service = "other", Port = 1 });
        var unrelated = Sidecar(mesh, assembler, "dashboard-sidecar-proxy");
        // A warning at the same weight changes nothing Envoy would see; a critical check does.
        mesh.Check("counting-1-sidecar-proxy", HealthStatus.Warning);
        var warning = Sidecar(mesh, assembler, "dashboard-sidecar-proxy");
        mesh.Check("counting-1-sidecar-proxy", HealthStatus.Critical);
        var changed = Sidecar(mesh, assembler, "dashboard-sidecar-proxy");

        Assert.True(SnapshotComparer.Same(before, unrelated));
        Assert.True(SnapshotComparer.Same(before, warning));
        Assert.False(SnapshotComparer.Same(before, changed));
    }

    [Fact]
    public void Sidecar_ResolverSubsetsAndSplitter_SplitEndpointsByMeta()
    {
        var mesh = new MeshFixture();
        mesh.RegisterWithSidecar("counting", "counting-1", 9003, 21000, new Dictionary<string, string> { ["version"] = "v1" });
        mesh.RegisterWithSidecar("counting", "counting-2", 9004, 21003, new Dictionary<string, string> { ["version"] = "v2" });
        mesh.RegisterWithSidecar("dashboard", "dashboard", 9002, 21001, null, ("counting", 5000));
        mesh.Entry("""{"Kind":"service-defaults","Name":"counting","Protocol":"http"}""");
        mesh.Entry("""{"Kind":"service-resolver","Name":"counting","Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2"}}}""");
        mesh.Entry("""{"Kind":"service-splitter","Name":"counting","Splits":[{"Weight":80,"ServiceSubset":"v1"},{"Weight":20,"ServiceSubset":"v2"}]}""");
        var assembler = new SnapshotAssembler(MeshFixture.Node, "dc1", defaultAllow: true);

        var up = Assert.Single(Sidecar(mesh, assembler, "dashboard-sidecar-proxy").Upstreams);

        Assert.Equal("http", up.Protocol);
        Assert.Equal(21000, Assert.Single(up.Endpoints["v1.counting.default.dc1"].Endpoints).Port);
        Assert.Equal(21003, Assert.Single(up.Endpoints["v2.counting.default.dc1"].Endpoints).Port);
    }

    [Fact]
    public void Sidecar_IntentionsAndProxyDefaults_AreCarried()
    {
        var (mesh, assembler) = Demo();
        mesh.Entry("""{"Kind":"service-intentions","Name":"counting","Sources":[{"Name":"dashboard","Action":"allow"},{"Name":"*","Action":"deny"}]}""");
        mesh.Entry("""{"Kind":"proxy-defaults","Name":"global","Config":{"protocol":"http","local_connect_timeout_ms":250,"envoy_prometheus_bind_addr":"0.0.0.0:9102"}}""");

        var s = Sidecar(mesh, assembler, "counting-1-sidecar-proxy");

        Assert.Equal(["dashboard", "*"], s.Intentions.Select(i => i.Source));
        Assert.Equal("http", s.Local!.Protocol);
        Assert.Equal(TimeSpan.FromMilliseconds(250), s.Settings.LocalConnectTimeout);
        Assert.Equal("0.0.0.0:9102", s.Settings.PrometheusBindAddress);
    }

    [Fact]
    public void Proxyless_ListsServicesButNotProxies_WithTheInstancesThemselvesAsEndpoints()
    {
        var (mesh, assembler) = Demo();

        var s = assembler.Proxyless(mesh.Store.View(), null, "grpc-client");

        Assert.Equal(["counting", "dashboard"], s!.Upstreams.Select(u => u.Name).Order());
        var counting = s.Upstreams.Single(u => u.Name == "counting");
        Assert.Equal(9003, Assert.Single(counting.Endpoints.Values.Single().Endpoints).Port);
    }

    [Fact]
    public void ProxyDefinition_SnakeCaseAndPascalCase_ReadTheSame()
    {
        var snake = ProxyDefinition.Parse("""{"destination_service_name":"web","local_service_port":8080,"upstreams":[{"destination_name":"db","local_bind_port":9191,"config":{"protocol":"http"}}]}""")!;
        var pascal = ProxyDefinition.Parse("""{"DestinationServiceName":"web","LocalServicePort":8080,"Upstreams":[{"DestinationName":"db","LocalBindPort":9191,"Config":{"protocol":"http"}}]}""")!;

        Assert.Equal(("web", 8080, "127.0.0.1"), (snake.DestinationServiceName, snake.LocalServicePort, snake.LocalServiceAddress));
        Assert.Equal(("db", 9191, "service", "127.0.0.1"), (snake.Upstreams[0].DestinationName, snake.Upstreams[0].LocalBindPort,
            snake.Upstreams[0].DestinationType, snake.Upstreams[0].LocalBindAddress));
        Assert.Equal(pascal.Upstreams[0].DestinationName, snake.Upstreams[0].DestinationName);
        Assert.Equal("http", snake.Upstreams[0].Config["protocol"].GetString());
    }

    [Theory]
    [InlineData("[1]")]
    [InlineData("{\"LocalServicePort\":\"x\"}")]
    [InlineData("{\"Upstreams\":[3]}")]
    [InlineData("{not json")]
    [InlineData("{\"Upstreams\":\"db\"}")]
    public void ProxyDefinition_Malformed_IsAFormatException(string json) =>
        Assert.Throws<FormatException>(() => ProxyDefinition.Parse(json));

    [Theory]
    [InlineData("""{"envoy_tracing_json":"{\"http\":{\"name\":\"z\"}}"}""")]
    [InlineData("""{"envoy_tracing_json":{"http":{"name":"z"}}}""")]
    public void Settings_TracingJsonAsStringOrObject_IsTheSameJson(string config)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(config);
        var settings = SnapshotAssembler.Settings(doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value));

        Assert.NotNull(settings.TracingJson);
        using var tracing = System.Text.Json.JsonDocument.Parse(settings.TracingJson);
        Assert.Equal("z", tracing.RootElement.GetProperty("http").GetProperty("name").GetString());
    }

    [Fact]
    public void Settings_ExtraStaticClustersAsArray_IsKept()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""{"envoy_extra_static_clusters_json":[{"name":"jaeger"}]}""");
        var settings = SnapshotAssembler.Settings(doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value));

        Assert.Equal("""[{"name":"jaeger"}]""", settings.ExtraStaticClustersJson);
    }
}
