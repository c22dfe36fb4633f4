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
        var accepted = SidecarState.Empty.WithListeners(States.Public, States.HttpUpstream with { App = new TcpProxyConfig("db", "db", null, null) });

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
        var accepted = SidecarState.Empty.WithSecrets().WithListeners(States.Public);

        Assert.Same(accepted, SidecarHost.Warm(accepted, null, out var complete));
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
