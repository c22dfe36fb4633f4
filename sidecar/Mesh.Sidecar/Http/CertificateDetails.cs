using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Sidecar.Tls;

namespace Mesh.Sidecar.Http;

/// <summary>
/// What the proxy needs of a certificate per request (principal, first URI SAN, SHA-256 of the DER), parsed once per
/// certificate instance: Kestrel hands every request of a connection the same client certificate object.
/// </summary>
internal sealed class CertificateDetails
{
    private static readonly ConditionalWeakTable<X509Certificate2, CertificateDetails> Cache = new();

    private CertificateDetails(X509Certificate2 certificate)
    {
        var uris = PeerIdentity.UriSans(certificate);
        Uri = uris.Count > 0 ? uris[0] : null;
        Principal = PeerIdentity.Principal(certificate);
        Hash = Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }

    /// <summary>The RBAC principal: the first URI SAN, else the subject.</summary>
    public string Principal { get; }

    /// <summary>The first URI SAN (the SPIFFE id), or null.</summary>
    public string? Uri { get; }

    /// <summary>Lower-case hex SHA-256 of the DER encoding, as Envoy's <c>x-forwarded-client-cert</c> <c>Hash</c>.</summary>
    public string Hash { get; }

    /// <summary>The details of <paramref name="certificate"/>.</summary>
    public static CertificateDetails Of(X509Certificate2 certificate) => Cache.GetValue(certificate, static c => new CertificateDetails(c));

    /// <summary>
    /// The <c>x-forwarded-client-cert</c> element for a peer, in Envoy's format:
    /// <c>By=&lt;our URI&gt;;Hash=&lt;peer SHA-256&gt;;URI=&lt;peer URI&gt;</c> (parts without a value are left out).
    /// </summary>
    public static string ForwardedClientCert(X509Certificate2? ours, X509Certificate2 peer)
    {
        var peerDetails = Of(peer);
        var by = ours is null ? null : Of(ours).Uri;
        var value = by is null ? "Hash=" + peerDetails.Hash : string.Concat("By=", by, ";Hash=", peerDetails.Hash);
        return peerDetails.Uri is null ? value : string.Concat(value, ";URI=", peerDetails.Uri);
    }
}
