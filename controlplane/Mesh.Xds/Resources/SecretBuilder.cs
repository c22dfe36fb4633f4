using System.Text;
using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Mesh.Xds.ProxyCfg;

namespace Mesh.Xds.Resources;

/// <summary>
/// Builds the two SDS secrets every TLS context of a sidecar names (<see cref="TlsContexts"/>): the leaf certificate
/// with its key, and the trust bundle. A pure function of the snapshot.
/// </summary>
internal static class SecretBuilder
{
    /// <summary>
    /// The <see cref="Names.LeafSecret"/> and <see cref="Names.RootsSecret"/> secrets, in that order; none for a
    /// proxyless snapshot (its clusters are plaintext), nor while the leaf or the roots are not known yet — a TLS
    /// context then waits for its secret (Envoy keeps the listener warming) instead of handshaking with nothing.
    /// </summary>
    public static IReadOnlyList<Secret> Build(ConfigSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Mode == ProxyMode.Proxyless || snapshot.Leaf is null || snapshot.Roots.Count == 0) return [];
        return [Leaf(snapshot.Leaf), Roots(snapshot.Roots)];
    }

    /// <summary>The leaf secret: certificate chain and private key, inline.</summary>
    public static Secret Leaf(LeafCertificate leaf)
    {
        ArgumentNullException.ThrowIfNull(leaf);
        return new Secret
        {
            Name = Names.LeafSecret,
            TlsCertificate = new TlsCertificate
            {
                CertificateChain = new DataSource { InlineString = leaf.CertPem },
                PrivateKey = new DataSource { InlineString = leaf.PrivateKeyPem },
            },
        };
    }

    /// <summary>
    /// The roots secret: every root (active first, as the snapshot orders them) concatenated into one PEM bundle, so a
    /// peer whose leaf an old root signed stays trusted through a rotation.
    /// </summary>
    public static Secret Roots(IReadOnlyList<RootCertificate> roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        return new Secret
        {
            Name = Names.RootsSecret,
            ValidationContext = new CertificateValidationContext { TrustedCa = new DataSource { InlineString = Bundle(roots) } },
        };
    }

    /// <summary>The roots' PEM, each ending in a newline so two certificates never share a line.</summary>
    internal static string Bundle(IReadOnlyList<RootCertificate> roots)
    {
        var bundle = new StringBuilder();
        foreach (var root in roots)
        {
            var pem = root.CertPem.Trim();
            if (pem.Length == 0) continue;
            bundle.Append(pem).Append('\n');
        }
        return bundle.ToString();
    }
}
