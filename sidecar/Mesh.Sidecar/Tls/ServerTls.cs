using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mesh.Sidecar.Config;

namespace Mesh.Sidecar.Tls;

/// <summary>
/// Builds the server side of a downstream TLS handshake from the state in force at that moment: the leaf named by
/// the listener's certificate secret (with intermediates), client certificates verified against the named roots,
/// ALPN and protocol versions from the listener. A rotated leaf or bundle therefore applies from the next handshake,
/// while established connections keep the session they negotiated.
/// </summary>
internal sealed class ServerTls(StateHolder state)
{
    // Keyed by the secret instance: an SDS update publishes a new instance, so a rotation misses the cache once and
    // the old context is collected with the old secret.
    private readonly ConditionalWeakTable<CertificateSecret, SslStreamCertificateContext> _contexts = new();

    /// <summary>The options for one handshake on a listener with <paramref name="tls"/>.</summary>
    /// <exception cref="AuthenticationException">The certificate secret has not been received.</exception>
    public SslServerAuthenticationOptions CreateOptions(DownstreamTlsConfig tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        var current = state.Current;
        if (!current.Certificates.TryGetValue(tls.CertificateSecret, out var leaf))
        {
            throw new AuthenticationException($"secret {tls.CertificateSecret} not received");
        }

        ValidationSecret? roots = null;
        if (tls.ValidationSecret is { } rootsName && !current.ValidationContexts.TryGetValue(rootsName, out roots))
        {
            throw new AuthenticationException($"secret {rootsName} not received");
        }

        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _contexts.GetValue(leaf, static s => SslStreamCertificateContext.Create(s.Certificate, s.Intermediates, offline: true)),
            EnabledSslProtocols = tls.Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // Asking for a certificate when there are roots to check it against; requiring one when the listener says so.
            ClientCertificateRequired = roots is not null || tls.RequireClientCertificate,
            ApplicationProtocols = Protocols(tls),
        };
        var require = tls.RequireClientCertificate;
        options.RemoteCertificateValidationCallback = (_, certificate, chain, _) => ValidateClient(certificate, chain, roots, require);
        return options;
    }

    /// <summary>
    /// Accepts a client certificate only when it chains to the bundle; no certificate is accepted only when the
    /// listener does not require one. The platform's own policy errors are ignored: it checks against the machine's
    /// store, which is not the mesh's trust.
    /// </summary>
    private static bool ValidateClient(X509Certificate? certificate, X509Chain? chain, ValidationSecret? roots, bool require)
    {
        if (certificate is null) return !require;
        if (roots is null) return false;
        var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        return TrustVerifier.Verify(leaf, roots.Roots, chain?.ChainPolicy.ExtraStore) is null;
    }

    private static List<SslApplicationProtocol>? Protocols(DownstreamTlsConfig tls)
    {
        if (tls.Alpn.IsDefaultOrEmpty) return null;
        var list = new List<SslApplicationProtocol>(tls.Alpn.Length);
        foreach (var name in tls.Alpn) list.Add(new SslApplicationProtocol(name));
        return list;
    }
}
