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
    }
}
