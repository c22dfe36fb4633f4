using System.Collections.Frozen;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Hosting;

/// <summary><see cref="SidecarHost.Warm"/>: Envoy's listener warming over whole states.</summary>
public sealed class WarmingTests
{
    [Fact]
    public void Warm_TlsListenerWithoutSecrets_IsLeftOut()
    {
        var accepted = SidecarState.Empty.WithClusters(States.LocalApp, States.LocalApp with { Name = "db" })
            .WithListeners(States.Public, States.HttpUpstream with { App = new TcpProxyConfig("db", "db", null, null) });

        var served = SidecarHost.Warm(accepted, null, out var complete);

        Assert.False(complete);
        Assert.Equal(["db:127.0.0.1:9191"], served.Listeners.Keys.ToArray());
    }

    [Fact]
    public void Warm_RdsListenerWithoutItsRoutes_IsLeftOutUntilTheyArrive()
    {
        var accepted = SidecarState.Empty.WithListeners(States.HttpUpstream);
        Assert.Empty(SidecarHost.Warm(accepted, null, out _).Listeners);

        var served = SidecarHost.Warm(accepted.WithRoute("db"), null, out var complete);

        Assert.True(complete);
        Assert.Single(served.Listeners);
    }

    [Fact]
    public void Warm_EverythingPresent_ReturnsTheAcceptedStateItself()
    {
        var accepted = SidecarState.Empty.WithSecrets().WithClusters(States.LocalApp).WithListeners(States.Public);

        Assert.Same(accepted, SidecarHost.Warm(accepted, null, out var complete));
        Assert.True(complete);
    }

    [Fact]
    public void Warm_TcpUpstreamWithoutItsClustersEndpoints_IsLeftOutUntilTheyArrive()
    {
        var eds = States.LocalApp with { Name = "db", Kind = ClusterKind.Eds, StaticEndpoints = [] };
        var tcp = States.HttpUpstream with { App = new TcpProxyConfig("db", "db", null, null) };
        var accepted = SidecarState.Empty.WithClusters(eds).WithListeners(tcp);
        Assert.Empty(SidecarHost.Warm(accepted, null, out var complete).Listeners);
        Assert.False(complete);

        var withEndpoints = accepted with
        {
            Endpoints = new Dictionary<string, ClusterLoadAssignmentConfig> { ["db"] = new("db", []) }.ToFrozenDictionary(StringComparer.Ordinal),
        };
        Assert.Same(withEndpoints, SidecarHost.Warm(withEndpoints, null, out complete));
        Assert.True(complete);
    }

    [Fact]
    public void Warm_RouteNamingAClusterNotYetArrived_KeepsThePreviousRouteVersion()
    {
        static RouteTableConfig Table(params string[] clusters) => new("db", [new VirtualHostConfig("db", ["*"],
            [new RouteConfig(new RouteMatchConfig(PathMatchKind.Prefix, "/", null, true, [], []),
                new RouteActionConfig(null, new WeightedClusterSet([.. clusters.Select(c => new WeightedClusterConfig(c, 1, HeaderMutation.None, HeaderMutation.None))], clusters.Length),
                    null, TimeSpan.FromSeconds(15), null, null, []), HeaderMutation.None, HeaderMutation.None)])]);
        static SidecarState WithTable(SidecarState state, RouteTableConfig table) =>
            state with { Routes = new Dictionary<string, RouteTableConfig> { ["db"] = table }.ToFrozenDictionary(StringComparer.Ordinal) };

        var v1 = States.LocalApp with { Name = "v1" };
        var previous = WithTable(SidecarState.Empty.WithClusters(v1).WithListeners(States.HttpUpstream), Table("v1"));
        var split = Table("v1", "v2");
        var accepted = WithTable(previous, split);

        var served = SidecarHost.Warm(accepted, previous, out var complete);
        Assert.False(complete);
        Assert.Same(previous.Routes["db"], served.Routes["db"]);
        Assert.Single(served.Listeners);

        // The split's CDS replaced the plain cluster the previous route still sends to: it stays until the new route is served.
        var plain = States.LocalApp with { Name = "db" };
        var beforeSplit = WithTable(SidecarState.Empty.WithClusters(plain).WithListeners(States.HttpUpstream), Table("db"));
        var splitClusters = WithTable(beforeSplit.WithClusters(v1), Table("db"));
        var kept = SidecarHost.Warm(splitClusters, beforeSplit, out _);
        Assert.Same(plain, kept.Clusters["db"]);
        Assert.Same(beforeSplit.Routes["db"], kept.Routes["db"]);

        var arrived = accepted.WithClusters(v1, States.LocalApp with { Name = "v2" });
        Assert.Same(split, SidecarHost.Warm(arrived, served, out complete).Routes["db"]);
        Assert.True(complete);
    }

    [Fact]
    public void Warm_UpdatedListenerNotWarmYet_KeepsServingThePreviousVersion()
    {
        var previous = SidecarState.Empty.WithListeners(States.HttpUpstream).WithRoute("db");
        var updated = States.HttpUpstream with { App = new HttpConnectionManagerConfig("upstream.db", HttpCodec.Auto, null, "db-v2", null, null, false) };
        var accepted = previous.WithListeners(updated);

        var served = SidecarHost.Warm(accepted, previous, out var complete);

        Assert.False(complete);
        Assert.Same(States.HttpUpstream, served.Listeners.Values.Single());
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("example.com:19000")]
    [InlineData("127.0.0.1:99999")]
    [InlineData(":19000")]
    public void Create_BadAdminBind_ThrowsWithTheAddress(string bind)
    {
        var error = Assert.Throws<SidecarStartException>(() => SidecarHost.Create(
            new SidecarOptions { ProxyId = "p", AgentGrpcAddress = new Uri("http://127.0.0.1:8502"), AdminBind = bind },
            NullLoggerFactory.Instance, new PresetTranslator(), _ => new NoClusters(), (_, _) => new NoHttp(), (_, _, _) => new RecordingListenerManager()));

        Assert.Contains(bind, error.Message);
    }

    [Fact]
    public void Create_MissingCaFile_ThrowsNamingIt()
    {
        var error = Assert.Throws<SidecarStartException>(() => SidecarHost.Create(
            new SidecarOptions { ProxyId = "p", AgentGrpcAddress = new Uri("https://127.0.0.1:8503"), AgentCaFile = "/nonexistent/ca.pem" },
            NullLoggerFactory.Instance, new PresetTranslator(), _ => new NoClusters(), (_, _) => new NoHttp(), (_, _, _) => new RecordingListenerManager()));

        Assert.Contains("/nonexistent/ca.pem", error.Message);
    }
}
