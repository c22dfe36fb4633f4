using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Ca.Identity;

namespace Mesh.Ca.Certificates;

/// <summary>
/// Builds the certificates of the Connect CA: self-signed roots, CA certificates signed by another CA (intermediates and
/// cross-signed roots) and leaf certificates. Every certificate gets a random 128-bit serial, a subject key identifier and
/// the issuer's authority key identifier; CAs carry their trust domain as a URI SAN, leaves their SPIFFE ID as the only
/// URI SAN.
/// </summary>
public static class CertificateFactory
{
    /// <summary>How far back NotBefore is set, so a peer whose clock lags a little still accepts a fresh certificate.</summary>
    public static readonly TimeSpan Backdate = TimeSpan.FromMinutes(1);

    /// <summary>A self-signed root CA certificate for <paramref name="key"/>.</summary>
    public static X509Certificate2 CreateRoot(AsymmetricAlgorithm key, string trustDomain, string commonName, DateTimeOffset now, TimeSpan ttl)
    {
        var spec = Keys.CaKeySpec.Of(key);
        var request = Request(new X500DistinguishedName($"CN={Escape(commonName)}"), key, spec.Hash);
        AddCaExtensions(request, trustDomain);
        var ski = KeyId(request.PublicKey);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        return request.Create(request.SubjectName, Generator(key), now - Backdate, now + ttl, NewSerial());
    }

    /// <summary>
    /// A CA certificate for <paramref name="publicKey"/> signed by <paramref name="issuer"/>: an intermediate, or another
    /// root cross-signed so that leaves under it also chain to the issuer's root.
    /// </summary>
    public static X509Certificate2 SignCa(CaSigner issuer, PublicKey publicKey, X500DistinguishedName subject, string trustDomain,
        DateTimeOffset now, TimeSpan ttl)
    {
        var request = new CertificateRequest(subject, publicKey, issuer.Hash);
        AddCaExtensions(request, trustDomain);
        request.CertificateExtensions.Add(issuer.AuthorityKeyIdentifier);
        var notAfter = Clamp(now + ttl, issuer.Certificate);
        return request.Create(issuer.Certificate.SubjectName, issuer.Generator, now - Backdate, notAfter, NewSerial());
    }

    /// <summary>
    /// A leaf certificate for the requested key with <paramref name="id"/> as its only URI SAN, the given DNS and IP SANs,
    /// key usages for TLS on both ends (digital signature, key encipherment, key agreement; server and client auth),
    /// its subject key ID and the issuer's as authority key ID, and a lifetime of <paramref name="ttl"/> (never past the
    /// issuer's).
    /// </summary>
    public static IssuedCertificate SignLeaf(CaSigner issuer, ReadOnlySpan<byte> subjectPublicKeyInfo, SpiffeId id, IEnumerable<string> dnsNames,
        IEnumerable<IPAddress> ips, DateTimeOffset now, TimeSpan ttl) =>
        LeafEncoder.Sign(issuer, subjectPublicKeyInfo, id, dnsNames, ips, now - Backdate, Clamp(now + ttl, issuer.Certificate));

    /// <summary>The key identifier of a public key: SHA-1 of its encoded bits (RFC 5280 §4.2.1.2, method 1).</summary>
    public static byte[] KeyId(PublicKey key) => SHA1.HashData(key.EncodedKeyValue.RawData);

    /// <summary>Bytes as lower-case hex pairs joined by colons, as Consul prints key IDs, serials and fingerprints.</summary>
    public static string ColonHex(ReadOnlySpan<byte> bytes) =>
        string.Join(':', Convert.ToHexStringLower(bytes).Chunk(2).Select(c => new string(c)));

    /// <summary>The SHA-1 fingerprint of a certificate, colon hex (Consul's root ID).</summary>
    public static string Fingerprint(X509Certificate2 cert) => ColonHex(SHA1.HashData(cert.RawData));

    /// <summary>A certificate as PEM.</summary>
    public static string ToPem(X509Certificate2 cert) => cert.ExportCertificatePem() + "\n";

    private static CertificateRequest Request(X500DistinguishedName subject, AsymmetricAlgorithm key, HashAlgorithmName hash) => key switch
    {
        ECDsa ec => new CertificateRequest(subject, ec, hash),
        RSA rsa => new CertificateRequest(subject, rsa, hash, RSASignaturePadding.Pkcs1),
        _ => throw new ArgumentException($"unsupported key type {key.GetType().Name}", nameof(key)),
    };

    private static void AddCaExtensions(CertificateRequest request, string trustDomain)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(KeyId(request.PublicKey), false));
        request.CertificateExtensions.Add(SanExtension.Create([SpiffeId.Authority(trustDomain).ToString()], [], []));
    }

    private static DateTimeOffset Clamp(DateTimeOffset notAfter, X509Certificate2 issuer) =>
        notAfter > issuer.NotAfter.ToUniversalTime() ? new DateTimeOffset(issuer.NotAfter.ToUniversalTime()) : notAfter;

    /// <summary>A random positive 128-bit serial (RFC 5280 allows up to 20 octets; the top bit clear keeps it positive).</summary>
    public static byte[] NewSerial()
    {
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        if (serial[0] == 0) serial[0] = 1;
        return serial;
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace(",", "\\,", StringComparison.Ordinal)
        .Replace("+", "\\+", StringComparison.Ordinal).Replace("=", "\\=", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    /// <summary>A signature generator over <paramref name="key"/> (PKCS #1 v1.5 padding for RSA, as X.509 CAs use).</summary>
    internal static X509SignatureGenerator Generator(AsymmetricAlgorithm key) => key switch
    {
        ECDsa ec => X509SignatureGenerator.CreateForECDsa(ec),
        RSA rsa => X509SignatureGenerator.CreateForRSA(rsa, RSASignaturePadding.Pkcs1),
        _ => throw new ArgumentException($"unsupported key type {key.GetType().Name}", nameof(key)),
    };
}
