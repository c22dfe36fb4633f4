using System.Net;
using System.Net.Sockets;
using System.Text;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Http;
using Mesh.Sidecar.Tests.Tls;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Listeners;

public class ListenerManagerTests
{
    [Fact]
    public async Task ApplyAsync_ListenerAddedThenRemoved_BindsThenClosesPort()
    {
        await using var echo = new EchoServer();
        await using var sidecar = new TestSidecar();
        var cluster = States.StaticCluster("local_app", echo.EndPoint);
        await sidecar.ApplyAsync(States.With([States.TcpListener("a", "local_app"), States.TcpListener("b", "local_app")], [cluster]));
        var a = sidecar.Address("a");
        var b = sidecar.Address("b");
        Assert.NotEqual(0, a.Port);
        Assert.NotEqual(a.Port, b.Port);

        await sidecar.ApplyAsync(States.With([States.TcpListener("a", "local_app")], [cluster]));

        Assert.False(sidecar.Listeners.BoundAddresses.ContainsKey("b"));
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(a);
            var stream = client.GetStream();
            await stream.WriteAsync("ping"u8.ToArray());
            Assert.Equal("ping", await stream.ReadTextAsync(4));
        }

        await AssertClosedAsync(b);
    }

    [Fact]
    public async Task ApplyAsync_PortInUse_ThrowsNamingListenerAndAddress()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var taken = (IPEndPoint)occupant.LocalEndpoint;
        await using var sidecar = new TestSidecar();

        var error = await Assert.ThrowsAsync<XdsConfigException>(() =>
            sidecar.ApplyAsync(States.With([States.TcpListener("public_listener", "local_app", address: taken)])));

        Assert.Equal($"listener public_listener: cannot bind {taken}: address in use", error.Message);
        Assert.Empty(sidecar.Listeners.BoundAddresses);
    }

    [Fact]
    public async Task PlaintextHttpListener_Http11AndH2cPriorKnowledge_BothReachTheProxy()
    {
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(States.With([States.HttpListener("upstream_web")]));
        var address = sidecar.Address("upstream_web");
        using var client = new HttpClient();

        var http1 = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://{address}/") { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact });
        var h2c = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://{address}/") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact });

        Assert.Equal("HTTP/1.1 http upstream_web", await http1.Content.ReadAsStringAsync());
        Assert.Equal(HttpVersion.Version20, h2c.Version);
        Assert.Equal("HTTP/2 http upstream_web", await h2c.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TlsHttpListener_ClientOffersH2_NegotiatesHttp2ByAlpn()
    {
        var pki = new TestPki();
        await using var sidecar = new TestSidecar();
        var tls = States.InboundTls with { Alpn = ["h2", "http/1.1"] };
        await sidecar.ApplyAsync(States.With([States.HttpListener("public_listener", tls)], certificates: [pki.LeafSecret("web")], roots: [pki.RootsSecret()]));
        var clientLeaf = pki.Leaf("api");
        using var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                ClientCertificates = [clientLeaf],
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
            },
        };
        using var client = new HttpClient(handler);

        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"https://{sidecar.Address("public_listener")}/")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        });

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("HTTP/2 https public_listener", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task DrainAsync_ConnectionInFlight_WaitsForItToFinish()
    {
        await using var echo = new EchoServer();
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(States.With([States.TcpListener("a", "local_app")], [States.StaticCluster("local_app", echo.EndPoint)]));
        using var client = await sidecar.ConnectAsync("a");
        var stream = client.GetStream();
        await stream.WriteAsync("one"u8.ToArray());
        Assert.Equal("one", await stream.ReadTextAsync(3));

        var address = sidecar.Address("a");

        var drain = sidecar.Listeners.DrainAsync(TimeSpan.FromSeconds(30));

        // Not accepting any more, but the open connection still works and the drain waits for it.
        await AssertClosedAsync(address);
        await stream.WriteAsync("two"u8.ToArray());
        Assert.Equal("two", await stream.ReadTextAsync(3));
        Assert.False(drain.IsCompleted);

        client.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal("bye", await stream.ReadToEndAsync());
        client.Dispose();
        await drain.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ApplyAsync_AppChangesFromTcpToHttp_SameSocketServesHttp()
    {
        await using var echo = new EchoServer();
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(States.With([States.TcpListener("l", "local_app")], [States.StaticCluster("local_app", echo.EndPoint)]));
        var bound = sidecar.Address("l");

        await sidecar.ApplyAsync(States.With([States.HttpListener("l")]));

        Assert.Equal(bound, sidecar.Address("l"));
        using var client = new HttpClient();
        Assert.Equal("HTTP/1.1 http l", await client.GetStringAsync($"http://{bound}/"));
    }

    [Fact]
    public async Task ApplyAsync_ListenerGainsTls_RebindsAndRequiresClientCertificates()
    {
        var pki = new TestPki();
        await using var echo = new EchoServer();
        await using var sidecar = new TestSidecar();
        var cluster = States.StaticCluster("local_app", echo.EndPoint);
        await sidecar.ApplyAsync(States.With([States.TcpListener("public_listener", "local_app")], [cluster]));
        var plain = sidecar.Address("public_listener");

        await sidecar.ApplyAsync(States.With([States.TcpListener("public_listener", "local_app", States.InboundTls)], [cluster],
            certificates: [pki.LeafSecret("web")], roots: [pki.RootsSecret()]));

        await AssertClosedAsync(plain);
        var (client, tls) = await sidecar.ConnectTlsAsync("public_listener", pki.Root, pki.Leaf("api"));
        using (client)
        await using (tls)
        {
            await tls.WriteAsync("secure"u8.ToArray());
            Assert.Equal("secure", await tls.ReadTextAsync(6));
        }
    }

    [Fact]
    public async Task ApplyAsync_RemovedListenerWithOpenConnection_ConnectionFinishesWhilePortCloses()
    {
        await using var echo = new EchoServer();
        await using var sidecar = new TestSidecar();
        var cluster = States.StaticCluster("local_app", echo.EndPoint);
        await sidecar.ApplyAsync(States.With([States.TcpListener("a", "local_app")], [cluster]));
        var address = sidecar.Address("a");
        using var client = await sidecar.ConnectAsync("a");
        var stream = client.GetStream();
        await stream.WriteAsync("one"u8.ToArray());
        Assert.Equal("one", await stream.ReadTextAsync(3));

        await sidecar.ApplyAsync(States.With(clusters: [cluster]));

        await AssertClosedAsync(address);
        await stream.WriteAsync("two"u8.ToArray());
        Assert.Equal("two", await stream.ReadTextAsync(3));
    }

    private static async Task AssertClosedAsync(IPEndPoint address)
    {
        using var probe = new TcpClient();
        var error = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(address).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }
}
