using System.Net;
using System.Net.Sockets;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Tests.Listeners;
using Mesh.Sidecar.Tests.Tls;

namespace Mesh.Sidecar.Tests.L4;

public class TcpProxyHandlerTests
{
    [Fact]
    public async Task HalfClose_ClientSendsFin_UpstreamAnswerStillArrives()
    {
        await using var app = new EchoServer();
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(States.With([States.TcpListener("upstream_db", "db")], [States.StaticCluster("db", app.EndPoint)]));
        using var client = await sidecar.ConnectAsync("upstream_db");
        var stream = client.GetStream();
        await stream.WriteAsync("ping"u8.ToArray());
        Assert.Equal("ping", await stream.ReadTextAsync(4));

        client.Client.Shutdown(SocketShutdown.Send);

        // The app saw the FIN (it answers "bye" only then) and its own FIN came back as end of stream.
        Assert.Equal("bye", await stream.ReadToEndAsync());
        await InboundTlsTests.WaitForAsync(() => sidecar.Metrics.BytesReceived.With("upstream_db").Value == 4 && sidecar.Metrics.BytesSent.With("upstream_db").Value == 7);
        Assert.Equal(1, sidecar.Metrics.ConnectionsTotal.With("upstream_db").Value);
        client.Dispose();
        await InboundTlsTests.WaitForAsync(() => sidecar.Metrics.ConnectionsActive.With("upstream_db").Value == 0);
    }

    [Fact]
    public async Task Connect_FirstEndpointRefuses_TriesAnotherEndpoint()
    {
        await using var app = new EchoServer();
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(States.With([States.TcpListener("upstream_db", "db")], [States.StaticCluster("db", States.ClosedPort(), app.EndPoint)]));

        // Round robin alternates, so one of the two connections meets the closed port first.
        for (var i = 0; i < 2; i++)
        {
            using var client = await sidecar.ConnectAsync("upstream_db");
            var stream = client.GetStream();
            await stream.WriteAsync("ping"u8.ToArray());
            Assert.Equal("ping", await stream.ReadTextAsync(4));
        }

        Assert.Equal(1, sidecar.Metrics.UpstreamConnectFailures.With("db").Value);
        Assert.Equal(2, app.Accepted);
    }

    [Fact]
    public async Task Connect_NoServingEndpoint_ClosesDownstreamAndCounts()
    {
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(States.With([States.TcpListener("upstream_db", "db")], [States.StaticCluster("db")]));

        using var client = await sidecar.ConnectAsync("upstream_db");

        Assert.Equal(string.Empty, await client.GetStream().ReadToEndAsync());
        Assert.Equal(1, sidecar.Metrics.NoHealthyUpstream.With("db").Value);
    }

    [Fact]
    public async Task Connect_OnlyEndpointRefuses_ClosesDownstream()
    {
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(States.With([States.TcpListener("upstream_db", "db")], [States.StaticCluster("db", States.ClosedPort())]));

        using var client = await sidecar.ConnectAsync("upstream_db");

        Assert.Equal(string.Empty, await client.GetStream().ReadToEndAsync());
        Assert.Equal(1, sidecar.Metrics.UpstreamConnectFailures.With("db").Value);
    }

    [Fact]
    public async Task Idle_NoBytesForIdleTimeout_ClosesConnection()
    {
        await using var app = new EchoServer();
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(States.With([States.TcpListener("upstream_db", "db", idle: TimeSpan.FromMilliseconds(300))], [States.StaticCluster("db", app.EndPoint)]));
        using var client = await sidecar.ConnectAsync("upstream_db");
        var stream = client.GetStream();
        await stream.WriteAsync("ping"u8.ToArray());
        Assert.Equal("ping", await stream.ReadTextAsync(4));

        // Nothing more is sent: the proxy ends the connection on its own (the read returns at end of stream).
        Assert.Equal(string.Empty, await stream.ReadToEndAsync());
    }

    [Fact]
    public async Task WeightedClusters_ZeroWeightCluster_NeverChosen()
    {
        await using var never = new EchoServer();
        await using var always = new EchoServer();
        await using var sidecar = new TestSidecar();
        var weighted = new WeightedClusterSet([
            new WeightedClusterConfig("v1", 0, HeaderMutation.None, HeaderMutation.None),
            new WeightedClusterConfig("v2", 10, HeaderMutation.None, HeaderMutation.None)], 10);
        var listener = new ListenerConfig("upstream_db", States.AnyPort, TrafficDirection.Outbound, null, null, new TcpProxyConfig("upstream_db", null, weighted, null));
        await sidecar.ApplyAsync(States.With([listener], [States.StaticCluster("v1", never.EndPoint), States.StaticCluster("v2", always.EndPoint)]));

        for (var i = 0; i < 3; i++)
        {
            using var client = await sidecar.ConnectAsync("upstream_db");
            await client.GetStream().WriteAsync("x"u8.ToArray());
            Assert.Equal("x", await client.GetStream().ReadTextAsync(1));
        }

        Assert.Equal(0, never.Accepted);
        Assert.Equal(3, always.Accepted);
    }
}
