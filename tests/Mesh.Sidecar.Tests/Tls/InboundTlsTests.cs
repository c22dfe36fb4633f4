using System.Collections.Immutable;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Tests.Listeners;

namespace Mesh.Sidecar.Tests.Tls;

/// <summary>The public listener: mTLS against the mesh roots, network RBAC, then the local app.</summary>
public class InboundTlsTests
{
    private readonly TestPki _pki = new();

    private SidecarState Inbound(EchoServer app, RbacConfig? rbac = null, CertificateSecret? leaf = null) => States.With(
        [States.TcpListener("public_listener", "local_app", States.InboundTls, rbac)],
        [States.StaticCluster("local_app", app.EndPoint)],
        certificates: [leaf ?? _pki.LeafSecret("web")],
        roots: [_pki.RootsSecret()]);

    /// <summary>The public listener refuses the client: in the handshake, or (TLS 1.3) on the first read.</summary>
    private async Task AssertRefusedAsync(TestSidecar sidecar, X509Certificate2? clientCertificate)
    {
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            var (client, tls) = await sidecar.ConnectTlsAsync("public_listener", _pki.Root, clientCertificate);
            using (client)
            {
                await tls.WriteAsync("hello"u8.ToArray());
                var read = await tls.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
                if (read == 0) throw new IOException("closed");
            }
        });
    }

    [Fact]
    public async Task Handshake_NoClientCertificate_IsRefusedAndCounted()
    {
        await using var app = new EchoServer();
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(Inbound(app));

        await AssertRefusedAsync(sidecar, null);

        await WaitForAsync(() => sidecar.Metrics.TlsFailures.With("public_listener").Value == 1);
        Assert.Equal(0, app.Accepted);
    }

    [Fact]
    public async Task Handshake_CertificateFromAnotherCa_IsRefused()
    {
        await using var app = new EchoServer();
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(Inbound(app));
        var stranger = new TestPki("Other CA").Leaf("api");

        await AssertRefusedAsync(sidecar, stranger);

        await WaitForAsync(() => sidecar.Metrics.TlsFailures.With("public_listener").Value == 1);
        Assert.Equal(0, app.Accepted);
    }

    [Fact]
    public async Task Handshake_ValidClientCertificate_DataReachesLocalAppAndBack()
    {
        await using var app = new EchoServer();
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(Inbound(app));

        var (client, tls) = await sidecar.ConnectTlsAsync("public_listener", _pki.Root, _pki.Leaf("api"));
        using (client)
        await using (tls)
        {
            Assert.Equal(TestPki.SpiffeId("web"), Sidecar.Tls.PeerIdentity.Principal(new X509Certificate2(tls.RemoteCertificate!)));
            await tls.WriteAsync("hello"u8.ToArray());
            Assert.Equal("hello", await tls.ReadTextAsync(5));
            // Half-close: close_notify towards the app becomes a FIN; its answer still comes back.
            await tls.ShutdownAsync();
            Assert.Equal("bye", await tls.ReadToEndAsync());
        }

        Assert.Equal(1, app.Accepted);
        Assert.Equal(0, sidecar.Metrics.TlsFailures.With("public_listener").Value);
    }

    [Fact]
    public async Task NetworkRbac_DeniedPrincipal_ClosesWithoutData()
    {
        await using var app = new EchoServer();
        await using var sidecar = new TestSidecar();
        var onlyWeb = new StringMatch(StringMatchKind.Regex, "", Regex: new Regex("^spiffe://[^/]+/ns/default/dc/[^/]+/svc/web$"));
        var rbac = new RbacConfig(RbacAction.Allow, [new RbacPolicy("consul-intentions-layer4", [new PermissionRule.Any()], [new PrincipalRule.Authenticated(onlyWeb)])], "connect_authz");
        await sidecar.ApplyAsync(Inbound(app, rbac));

        var (client, tls) = await sidecar.ConnectTlsAsync("public_listener", _pki.Root, _pki.Leaf("api"));
        using (client)
        await using (tls)
        {
            try
            {
                await tls.WriteAsync("hello"u8.ToArray());
            }
            catch (IOException)
            {
                // Already closed: as good as a denial.
            }

            Assert.Equal(string.Empty, await tls.ReadToEndAsync());
        }

        Assert.Equal(1, sidecar.Metrics.RbacDenied.With("public_listener").Value);
        Assert.Equal(0, app.Accepted);

        var (allowedClient, allowed) = await sidecar.ConnectTlsAsync("public_listener", _pki.Root, _pki.Leaf("web"));
        using (allowedClient)
        await using (allowed)
        {
            await allowed.WriteAsync("hi"u8.ToArray());
            Assert.Equal("hi", await allowed.ReadTextAsync(2));
        }

        Assert.Equal(1, sidecar.Metrics.RbacAllowed.With("public_listener").Value);
    }

    [Fact]
    public async Task Rotation_NewLeafPublished_NextHandshakePresentsItWhileOldConnectionKeepsWorking()
    {
        await using var app = new EchoServer();
        await using var sidecar = new TestSidecar();
        var first = _pki.LeafSecret("web");
        await sidecar.ApplyAsync(Inbound(app, leaf: first));
        var (oldClient, oldTls) = await sidecar.ConnectTlsAsync("public_listener", _pki.Root, _pki.Leaf("api"));
        using (oldClient)
        await using (oldTls)
        {
            Assert.Equal(first.Certificate.Thumbprint, new X509Certificate2(oldTls.RemoteCertificate!).Thumbprint);
            var second = _pki.LeafSecret("web");

            await sidecar.ApplyAsync(Inbound(app, leaf: second));

            var (newClient, newTls) = await sidecar.ConnectTlsAsync("public_listener", _pki.Root, _pki.Leaf("api"));
            using (newClient)
            await using (newTls)
            {
                Assert.Equal(second.Certificate.Thumbprint, new X509Certificate2(newTls.RemoteCertificate!).Thumbprint);
                await newTls.WriteAsync("new"u8.ToArray());
                Assert.Equal("new", await newTls.ReadTextAsync(3));
            }

            await oldTls.WriteAsync("old"u8.ToArray());
            Assert.Equal("old", await oldTls.ReadTextAsync(3));
        }
    }

    [Fact]
    public async Task Handshake_LeafNotReceivedYet_IsRefused()
    {
        await using var app = new EchoServer();
        await using var sidecar = new TestSidecar();
        await sidecar.ApplyAsync(States.With(
            [States.TcpListener("public_listener", "local_app", States.InboundTls)],
            [States.StaticCluster("local_app", app.EndPoint)],
            roots: [_pki.RootsSecret()]));

        await Assert.ThrowsAnyAsync<Exception>(() => sidecar.ConnectTlsAsync("public_listener", _pki.Root, _pki.Leaf("api")));
        await WaitForAsync(() => sidecar.Metrics.TlsFailures.With("public_listener").Value == 1);
    }

    internal static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
