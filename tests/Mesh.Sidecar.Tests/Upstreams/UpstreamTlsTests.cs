using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Tests.Listeners;
using Mesh.Sidecar.Tests.Tls;
using Mesh.Sidecar.Upstreams;

namespace Mesh.Sidecar.Tests.Upstreams;

/// <summary>Outbound mTLS: the client leaf, the target's SNI, and the peer's SPIFFE identity.</summary>
public class UpstreamTlsTests
{
    private const string Sni = "db.default.dc1.internal.11111111-2222-3333-4444-555555555555.consul";

    private readonly TestPki _pki = new();
    private readonly StateHolder _state = new();
    private readonly SidecarMetrics _metrics = new();
    private readonly ClusterManager _clusters;

    public UpstreamTlsTests() => _clusters = new ClusterManager(_state, _metrics);

    private void Publish(IPEndPoint endpoint, string expectedService = "db", bool withLeaf = true, UpstreamProtocol protocol = UpstreamProtocol.Http1)
    {
        var tls = new UpstreamTlsConfig("leaf", "roots", Sni, [TestPki.SpiffeId(expectedService)], [], SslProtocols.Tls12 | SslProtocols.Tls13);
        _state.Publish(States.With(
            clusters: [States.EdsCluster(Sni, tls: tls) with { Protocol = protocol, ConnectTimeout = TimeSpan.FromSeconds(5) }],
            endpoints: [States.Assignment(Sni, new EndpointConfig(endpoint, EndpointHealth.Healthy, 1, 0))],
            certificates: withLeaf ? [_pki.LeafSecret("web")] : [],
            roots: [_pki.RootsSecret()]));
    }

    [Fact]
    public async Task ConnectAsync_TlsCluster_SendsSniAndClientLeafAndVerifiesPeer()
    {
        await using var peer = new TlsPeer(_pki.Leaf("db"), _pki.Root);
        Publish(peer.EndPoint, protocol: UpstreamProtocol.Http2);
        using var lease = _clusters.Pick(Sni, default)!;

        var connection = await _clusters.ConnectAsync(lease, CancellationToken.None);
        await using (connection.Stream)
        {
            await connection.Stream.WriteAsync("ping"u8.ToArray());
            Assert.Equal("ping", await connection.Stream.ReadTextAsync(4));
        }

        var seen = await peer.Seen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Sni, seen.Sni);
        Assert.Equal(TestPki.SpiffeId("web"), seen.ClientPrincipal);
        Assert.Equal("h2", seen.Alpn);
        Assert.Equal("h2", connection.NegotiatedProtocol);
        Assert.Equal(1, _metrics.UpstreamConnections.With(Sni).Value);
    }

    [Fact]
    public async Task ConnectAsync_NoAlpnRequested_OffersNone()
    {
        await using var peer = new TlsPeer(_pki.Leaf("db"), _pki.Root);
        Publish(peer.EndPoint);
        using var lease = _clusters.Pick(Sni, default)!;

        var connection = await _clusters.ConnectAsync(lease, [], CancellationToken.None);
        await connection.Stream.DisposeAsync();

        Assert.Null((await peer.Seen.Task.WaitAsync(TimeSpan.FromSeconds(10))).Alpn);
        Assert.Null(connection.NegotiatedProtocol);
    }

    [Fact]
    public async Task ConnectAsync_PeerWithWrongSpiffeId_FailsNamingBothIdentities()
    {
        await using var peer = new TlsPeer(_pki.Leaf("billing"), _pki.Root);
        Publish(peer.EndPoint, expectedService: "db");
        using var lease = _clusters.Pick(Sni, default)!;

        var error = await Assert.ThrowsAsync<UpstreamConnectException>(async () => await _clusters.ConnectAsync(lease, CancellationToken.None));

        Assert.Contains($"the peer identity {TestPki.SpiffeId("billing")} is not the expected {TestPki.SpiffeId("db")}", error.Message);
        Assert.StartsWith($"cluster {Sni}: TLS handshake with {peer.EndPoint} (SNI {Sni}) failed", error.Message);
        Assert.Equal(1, _metrics.UpstreamConnectFailures.With(Sni).Value);
    }

    [Fact]
    public async Task ConnectAsync_PeerFromAnotherCa_FailsAsUntrusted()
    {
        await using var peer = new TlsPeer(new TestPki("Other CA").Leaf("db"), _pki.Root);
        Publish(peer.EndPoint);
        using var lease = _clusters.Pick(Sni, default)!;

        var error = await Assert.ThrowsAsync<UpstreamConnectException>(async () => await _clusters.ConnectAsync(lease, CancellationToken.None));

        Assert.Contains("the peer certificate is not trusted", error.Message);
    }

    [Fact]
    public async Task ConnectAsync_LeafNotReceived_FailsSayingSo()
    {
        await using var peer = new TlsPeer(_pki.Leaf("db"), _pki.Root);
        Publish(peer.EndPoint, withLeaf: false);
        using var lease = _clusters.Pick(Sni, default)!;

        var error = await Assert.ThrowsAsync<UpstreamConnectException>(async () => await _clusters.ConnectAsync(lease, CancellationToken.None));

        Assert.Contains("secret leaf not received", error.Message);
    }

    [Fact]
    public async Task ConnectAsync_NothingListening_FailsAsRefused()
    {
        var closed = States.ClosedPort();
        Publish(closed);
        using var lease = _clusters.Pick(Sni, default)!;

        var error = await Assert.ThrowsAsync<UpstreamConnectException>(async () => await _clusters.ConnectAsync(lease, CancellationToken.None));

        Assert.Equal($"cluster {Sni}: connect to {closed} failed: connection refused", error.Message);
        Assert.Equal(1, _metrics.UpstreamConnectFailures.With(Sni).Value);
    }

    /// <summary>A peer sidecar's public listener: requires a client certificate, records SNI, ALPN and the client, echoes.</summary>
    private sealed class TlsPeer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _serving;

        public TlsPeer(X509Certificate2 certificate, X509Certificate2 root)
        {
            _listener.Start();
            _serving = ServeAsync(certificate, root);
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public TaskCompletionSource<(string? Sni, string? ClientPrincipal, string? Alpn)> Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private async Task ServeAsync(X509Certificate2 certificate, X509Certificate2 root)
        {
            try
            {
                using var socket = await _listener.AcceptSocketAsync();
                await using var tls = new SslStream(new NetworkStream(socket, true));
                string? sni = null;
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificateSelectionCallback = (_, name) => { sni = name; return certificate; },
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = (_, client, _, _) => client is not null && Sidecar.Tls.TrustVerifier.Verify(new X509Certificate2(client), [root]) is null,
                    ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
                });
                var alpn = tls.NegotiatedApplicationProtocol.Protocol.IsEmpty ? null : tls.NegotiatedApplicationProtocol.ToString();
                Seen.TrySetResult((sni, Sidecar.Tls.PeerIdentity.Principal(new X509Certificate2(tls.RemoteCertificate!)), alpn));
                var buffer = new byte[1024];
                int read;
                while ((read = await tls.ReadAsync(buffer)) > 0) await tls.WriteAsync(buffer.AsMemory(0, read));
            }
            catch (Exception ex) when (ex is IOException or AuthenticationException or SocketException or ObjectDisposedException)
            {
                Seen.TrySetException(ex);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try { await _serving; } catch (Exception) { }
        }
    }
}

public sealed class UpstreamPeerCheckTests
{
    [Fact]
    public void CheckPeer_NoTrustBundle_RefusesEvenAMatchingSan()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=db", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var san = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("spiffe://t.consul/ns/default/dc/dc1/svc/db"));
        request.CertificateExtensions.Add(san.Build());
        using var selfSigned = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));

        var failure = Mesh.Sidecar.Tls.UpstreamTls.CheckPeer(selfSigned, null, null, ["spiffe://t.consul/ns/default/dc/dc1/svc/db"]);

        Assert.NotNull(failure);
        Assert.Contains("no trust bundle", failure);
    }
}
