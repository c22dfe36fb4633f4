using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mesh.Sidecar.Config;

namespace Mesh.Sidecar.Tls;

/// <summary>
/// Builds the client side of an upstream mTLS handshake: the current leaf as client certificate, the target's SNI,
/// ALPN, and a peer check against the current roots and the SPIFFE ids the cluster expects. The reason a peer was
/// refused is kept on the returned <see cref="PeerCheck"/> so the connect error can say it.
/// </summary>
internal static class UpstreamTls
{
    private static readonly ConditionalWeakTable<CertificateSecret, SslStreamCertificateContext> Contexts = new();
    private static readonly List<SslApplicationProtocol> H2 = [SslApplicationProtocol.Http2];
    private static readonly List<SslApplicationProtocol> Http11 = [SslApplicationProtocol.Http11];

    /// <summary>Why the last handshake refused the peer, when it did.</summary>
    internal sealed class PeerCheck
    {
        /// <summary>The refusal reason; null while the peer is acceptable.</summary>
        public string? Failure { get; set; }
    }

    /// <summary>
    /// The options for one handshake to an endpoint of <paramref name="cluster"/>. <paramref name="alpn"/> overrides
    /// the protocols offered (empty: offer none, for TCP); null takes the cluster's ALPN, else h2 for HTTP/2 clusters
    /// and http/1.1 otherwise.
    /// </summary>
    /// <exception cref="InvalidOperationException">The cluster has no TLS.</exception>
    /// <exception cref="AuthenticationException">A secret has not been received (the message names it).</exception>
    public static SslClientAuthenticationOptions CreateOptions(ClusterConfig cluster, SidecarState state, IReadOnlyList<string>? alpn, out PeerCheck check)
    {
        var tls = cluster.Tls ?? throw new InvalidOperationException($"cluster {cluster.Name} does not use TLS");
        if (!state.Certificates.TryGetValue(tls.CertificateSecret, out var leaf))
        {
            throw new AuthenticationException("secret leaf not received" + (tls.CertificateSecret == "leaf" ? string.Empty : $" ({tls.CertificateSecret})"));
        }

        ValidationSecret? roots = null;
        if (tls.ValidationSecret is { } rootsName && !state.ValidationContexts.TryGetValue(rootsName, out roots))
        {
            throw new AuthenticationException($"secret {rootsName} not received");
        }

        var peer = new PeerCheck();
        check = peer;
        var expected = tls.ExpectedUriSans;
        return new SslClientAuthenticationOptions
        {
            TargetHost = tls.Sni ?? string.Empty,
            ClientCertificateContext = Contexts.GetValue(leaf, static s => SslStreamCertificateContext.Create(s.Certificate, s.Intermediates, offline: true)),
            EnabledSslProtocols = tls.Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            ApplicationProtocols = Protocols(cluster, tls, alpn),
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                peer.Failure = CheckPeer(certificate, chain, roots, expected);
                return peer.Failure is null;
            },
        };
    }

    /// <summary>Null when the server's certificate chains to the roots and carries an expected URI SAN; else why not.</summary>
    internal static string? CheckPeer(X509Certificate? certificate, X509Chain? chain, ValidationSecret? roots, System.Collections.Immutable.ImmutableArray<string> expected)
    {
        if (certificate is null) return "the peer presented no certificate";
        var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        // Without a trust bundle nothing proves who the peer is: a SAN alone can be self-signed by anyone.
        if (roots is null) return "no trust bundle (validation context) to verify the peer against";
        if (TrustVerifier.Verify(leaf, roots.Roots, chain?.ChainPolicy.ExtraStore) is { } reason)
        {
            return $"the peer certificate is not trusted: {reason}";
        }

        if (expected.IsDefaultOrEmpty) return null;
        var sans = PeerIdentity.UriSans(leaf);
        foreach (var san in sans)
        {
            foreach (var want in expected)
            {
                if (string.Equals(san, want, StringComparison.Ordinal)) return null;
            }
        }

        return $"the peer identity {(sans.Count == 0 ? "(no URI SAN)" : string.Join(", ", sans))} is not the expected {string.Join(" or ", expected)}";
    }

    private static List<SslApplicationProtocol>? Protocols(ClusterConfig cluster, UpstreamTlsConfig tls, IReadOnlyList<string>? alpn)
    {
        if (alpn is not null)
        {
            if (alpn.Count == 0) return null;
            var chosen = new List<SslApplicationProtocol>(alpn.Count);
            foreach (var name in alpn) chosen.Add(new SslApplicationProtocol(name));
            return chosen;
        }

        if (!tls.Alpn.IsDefaultOrEmpty)
        {
            var list = new List<SslApplicationProtocol>(tls.Alpn.Length);
            foreach (var name in tls.Alpn) list.Add(new SslApplicationProtocol(name));
            return list;
        }

        return cluster.Protocol == UpstreamProtocol.Http2 ? H2 : Http11;
    }
}
