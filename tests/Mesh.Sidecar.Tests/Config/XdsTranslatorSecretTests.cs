using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Tls;
using Mesh.Xds.Cache;
using Mesh.Xds.Tests.Resources;

namespace Mesh.Sidecar.Tests.Config;

public class XdsTranslatorSecretTests
{
    private static readonly string WebId = $"spiffe://{SnapshotFixtures.TrustDomain}/ns/default/dc/dc1/svc/web";

    private static SidecarState Secrets() => TranslatorFixture.Translate(SnapshotFixtures.SidecarTcp());

    [Fact]
    public void Apply_MeshSecrets_LeafWithKeyAndRootsBundle()
    {
        var state = Secrets();

        var leaf = state.Certificates["leaf"];
        Assert.True(leaf.Certificate.HasPrivateKey);
        Assert.Empty(leaf.Intermediates);
        Assert.Equal([WebId], PeerIdentity.UriSans(leaf.Certificate));
        var roots = state.ValidationContexts["roots"];
        Assert.Equal("CN=Test Root", Assert.Single(roots.Roots).Subject);
        Assert.Equal(2, state.Certificates.Count + state.ValidationContexts.Count);
    }

    [Fact]
    public async Task Apply_MeshSecrets_TranslatedLeafAndRootsCompleteAMutualTlsHandshake()
    {
        var state = Secrets();
        var leaf = state.Certificates["leaf"];
        var roots = state.ValidationContexts["roots"].Roots;
        var db = state.Clusters[SnapshotFixtures.Sni("db.default.dc1")].Tls!;
        var listenerTls = state.Listeners.Values.Single(l => l.Direction == Mesh.Sidecar.Config.TrafficDirection.Inbound).Tls!;

        var (server, client) = await HandshakeAsync(leaf, leaf, roots, db.Sni!, listenerTls.Protocols, db.Protocols);
        using (server)
        using (client)
        {
            Assert.True(server.IsMutuallyAuthenticated);
            Assert.Equal(WebId, PeerIdentity.Principal((X509Certificate2)server.RemoteCertificate!));
            Assert.Equal(WebId, PeerIdentity.Principal((X509Certificate2)client.RemoteCertificate!));
            await client.WriteAsync(new byte[] { 42 });
            var buffer = new byte[1];
            Assert.Equal(1, await server.ReadAsync(buffer));
            Assert.Equal(42, buffer[0]);
        }
    }

    [Fact]
    public async Task Apply_LeafOfAnotherCa_HandshakeAgainstTranslatedRootsFails()
    {
        var state = Secrets();
        var other = TestPki.Create(WebId, "Other Root");
        var translated = new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Secret, [Google.Protobuf.WellKnownTypes.Any.Pack(Leaf("intruder", other.LeafPem, other.LeafKeyPem))]);
        var intruder = translated.Certificates["intruder"];

        await Assert.ThrowsAnyAsync<AuthenticationException>(async () =>
        {
            var (server, client) = await HandshakeAsync(state.Certificates["leaf"], intruder, state.ValidationContexts["roots"].Roots, "db",
                SslProtocols.Tls12 | SslProtocols.Tls13, SslProtocols.Tls12 | SslProtocols.Tls13);
            server.Dispose();
            client.Dispose();
        });
    }

    [Fact]
    public void Apply_ChainWithIntermediateAndBundleOfTwoRoots_LeafFirstAndEveryRootKept()
    {
        var pki = TranslatorFixture.Pki;
        var other = TestPki.Create(WebId, "Other Root");
        // The chain as inline_bytes, the other inline form.
        var chain = Leaf("leaf", "", pki.LeafKeyPem);
        chain.TlsCertificate.CertificateChain = new DataSource { InlineBytes = Google.Protobuf.ByteString.CopyFromUtf8(pki.LeafPem + pki.RootPem) };
        var bundle = Roots("roots", pki.RootPem + other.RootPem);

        var state = new XdsTranslator().Apply(SidecarState.Empty, TypeUrls.Secret, [Google.Protobuf.WellKnownTypes.Any.Pack(chain), Google.Protobuf.WellKnownTypes.Any.Pack(bundle)]);

        Assert.Equal([WebId], PeerIdentity.UriSans(state.Certificates["leaf"].Certificate));
        Assert.Equal("CN=Test Root", Assert.Single(state.Certificates["leaf"].Intermediates).Subject);
        Assert.Equal(["CN=Test Root", "CN=Other Root"], state.ValidationContexts["roots"].Roots.Select(r => r.Subject));
    }

    [Fact]
    public void Apply_CertificateFromFile_RefusedAsNotInline()
    {
        var secret = Leaf("leaf", TranslatorFixture.Pki.LeafPem, TranslatorFixture.Pki.LeafKeyPem);
        secret.TlsCertificate.PrivateKey = new DataSource { Filename = "/etc/leaf.key" };

        Assert.Equal("secret \"leaf\": tls_certificate: private_key must be inline (inline_string or inline_bytes), not filename",
            TranslatorFixture.Error(TypeUrls.Secret, secret));
    }

    [Fact]
    public void Apply_KeyOfAnotherCertificate_RefusedNamingTheKey()
    {
        var other = TestPki.Create(WebId, "Other Root");
        var message = TranslatorFixture.Error(TypeUrls.Secret, Leaf("leaf", TranslatorFixture.Pki.LeafPem, other.LeafKeyPem));

        Assert.StartsWith("secret \"leaf\": tls_certificate: private_key cannot be read or does not match the certificate", message);
    }

    [Fact]
    public void Apply_SecretWithoutContentOrWithGarbage_PreciseErrors()
    {
        Assert.Equal("secret \"empty\": the secret has neither tls_certificate nor validation_context",
            TranslatorFixture.Error(TypeUrls.Secret, new Secret { Name = "empty" }));
        Assert.Equal("secret \"roots\": validation_context: trusted_ca holds no PEM certificate",
            TranslatorFixture.Error(TypeUrls.Secret, Roots("roots", "not a certificate")));
        Assert.Equal("secret \"ticket\": session_ticket_keys secrets are not supported",
            TranslatorFixture.Error(TypeUrls.Secret, new Secret { Name = "ticket", SessionTicketKeys = new TlsSessionTicketKeys() }));
    }

    [Fact]
    public void Apply_SameNameForCertificateAndRoots_Refused()
    {
        Assert.Equal("secret \"leaf\": the response names it more than once",
            TranslatorFixture.Error(TypeUrls.Secret, Leaf("leaf", TranslatorFixture.Pki.LeafPem, TranslatorFixture.Pki.LeafKeyPem), Roots("leaf", TranslatorFixture.Pki.RootPem)));
    }

    private static Secret Leaf(string name, string chainPem, string keyPem) => new()
    {
        Name = name,
        TlsCertificate = new TlsCertificate
        {
            CertificateChain = new DataSource { InlineString = chainPem },
            PrivateKey = new DataSource { InlineString = keyPem },
        },
    };

    private static Secret Roots(string name, string pem) => new()
    {
        Name = name,
        ValidationContext = new CertificateValidationContext { TrustedCa = new DataSource { InlineString = pem } },
    };

    /// <summary>
    /// A TLS handshake over a loopback socket pair: the server presents <paramref name="serverLeaf"/> and requires a
    /// client certificate, the client presents <paramref name="clientLeaf"/>; both verify the peer against
    /// <paramref name="roots"/> only.
    /// </summary>
    private static async Task<(SslStream Server, SslStream Client)> HandshakeAsync(CertificateSecret serverLeaf, CertificateSecret clientLeaf,
        X509Certificate2Collection roots, string sni, SslProtocols serverProtocols, SslProtocols clientProtocols)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var tcpClient = new TcpClient();
            var connecting = tcpClient.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            var accepted = await listener.AcceptTcpClientAsync();
            await connecting;
            var server = new SslStream(accepted.GetStream(), false, (_, cert, _, _) => Trusted(cert, roots));
            var client = new SslStream(tcpClient.GetStream(), false, (_, cert, _, _) => Trusted(cert, roots));
            var serving = server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = SslStreamCertificateContext.Create(serverLeaf.Certificate, serverLeaf.Intermediates, offline: true),
                ClientCertificateRequired = true,
                EnabledSslProtocols = serverProtocols,
            });
            var clienting = client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = sni,
                ClientCertificates = [clientLeaf.Certificate],
                EnabledSslProtocols = clientProtocols,
            });
            try
            {
                await Task.WhenAll(serving, clienting).WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch
            {
                server.Dispose();
                client.Dispose();
                throw;
            }
            return (server, client);
        }
        finally
        {
            listener.Stop();
        }
    }

    private static bool Trusted(X509Certificate? certificate, X509Certificate2Collection roots)
    {
        if (certificate is not X509Certificate2 cert) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(cert);
    }
}
