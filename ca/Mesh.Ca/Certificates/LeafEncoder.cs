using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using Mesh.Ca.Identity;

namespace Mesh.Ca.Certificates;

/// <summary>A signed certificate: its DER, serial and validity, so callers need not parse it back.</summary>
/// <param name="Der">The certificate.</param>
/// <param name="Serial">Its serial number, big-endian.</param>
/// <param name="NotBefore">Start of validity.</param>
/// <param name="NotAfter">End of validity.</param>
public sealed record IssuedCertificate(byte[] Der, byte[] Serial, DateTimeOffset NotBefore, DateTimeOffset NotAfter)
{
    /// <summary>The certificate as PEM, ending in a newline.</summary>
    public string Pem => PemEncoding.WriteString("CERTIFICATE", Der) + "\n";
}

/// <summary>
/// Writes leaf certificates straight to DER (RFC 5280) and signs them: the hot path of the CA, which would otherwise
/// build a <see cref="System.Security.Cryptography.X509Certificates.CertificateRequest"/> and a parsed certificate per
/// leaf. Content is the same as <see cref="CertificateFactory.SignLeaf"/> documents.
/// </summary>
internal static class LeafEncoder
{
    private static readonly byte[] BasicConstraints = Extension("2.5.29.19", critical: true, w => w.PushSequence().Dispose());

    // digitalSignature (0), keyEncipherment (2), keyAgreement (4): 1010 1000, the three trailing zero bits unused.
    private static readonly byte[] KeyUsage = Extension("2.5.29.15", critical: true, w => w.WriteBitString([0xA8], unusedBitCount: 3));

    private static readonly byte[] ExtendedKeyUsage = Extension("2.5.29.37", critical: false, w =>
    {
        using (w.PushSequence())
        {
            w.WriteObjectIdentifier("1.3.6.1.5.5.7.3.1");
            w.WriteObjectIdentifier("1.3.6.1.5.5.7.3.2");
        }
    });

    /// <summary>Signs a leaf for <paramref name="subjectPublicKeyInfo"/> naming <paramref name="id"/>.</summary>
    public static IssuedCertificate Sign(CaSigner issuer, ReadOnlySpan<byte> subjectPublicKeyInfo, SpiffeId id, IEnumerable<string> dnsNames,
        IEnumerable<IPAddress> ips, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var serial = CertificateFactory.NewSerial();
        var keyId = SubjectKeyId(subjectPublicKeyInfo);
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence())
        {
            using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0)))
                w.WriteInteger(2);
            w.WriteIntegerUnsigned(serial);
            w.WriteEncodedValue(issuer.SignatureAlgorithm);
            w.WriteEncodedValue(issuer.Certificate.SubjectName.RawData);
            using (w.PushSequence())
            {
                WriteTime(w, notBefore);
                WriteTime(w, notAfter);
            }
            using (w.PushSequence())
            using (w.PushSetOf())
            using (w.PushSequence())
            {
                w.WriteObjectIdentifier("2.5.4.3");
                w.WriteCharacterString(UniversalTagNumber.UTF8String, id.Name.Length > 0 ? id.Name : id.TrustDomain);
            }
            w.WriteEncodedValue(subjectPublicKeyInfo);
            using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 3)))
            using (w.PushSequence())
            {
                w.WriteEncodedValue(BasicConstraints);
                w.WriteEncodedValue(KeyUsage);
                w.WriteEncodedValue(ExtendedKeyUsage);
                var san = SanExtension.Create([id.ToString()], dnsNames, ips).RawData;
                w.WriteEncodedValue(Extension("2.5.29.17", false, x => x.WriteEncodedValue(san)));
                w.WriteEncodedValue(Extension("2.5.29.14", false, x => x.WriteOctetString(keyId)));
                w.WriteEncodedValue(Extension("2.5.29.35", false, x =>
                {
                    using (x.PushSequence())
                        x.WriteOctetString(issuer.SubjectKeyId, new Asn1Tag(TagClass.ContextSpecific, 0));
                }));
            }
        }
        var tbs = w.Encode();
        var cert = new AsnWriter(AsnEncodingRules.DER);
        using (cert.PushSequence())
        {
            cert.WriteEncodedValue(tbs);
            cert.WriteEncodedValue(issuer.SignatureAlgorithm);
            cert.WriteBitString(issuer.Sign(tbs));
        }
        return new IssuedCertificate(cert.Encode(), serial, notBefore, notAfter);
    }

    /// <summary>SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2, method 1), as for every other certificate here.</summary>
    private static byte[] SubjectKeyId(ReadOnlySpan<byte> spki)
    {
        var reader = new AsnReader(spki.ToArray(), AsnEncodingRules.DER).ReadSequence();
        reader.ReadSequence();
        return SHA1.HashData(reader.ReadBitString(out _));
    }

    /// <summary>UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5), whole seconds.</summary>
    private static void WriteTime(AsnWriter w, DateTimeOffset t)
    {
        var seconds = new DateTimeOffset(t.UtcDateTime.Ticks - t.UtcDateTime.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        if (seconds.Year < 2050) w.WriteUtcTime(seconds);
        else w.WriteGeneralizedTime(seconds, omitFractionalSeconds: true);
    }

    private static byte[] Extension(string oid, bool critical, Action<AsnWriter> value)
    {
        var inner = new AsnWriter(AsnEncodingRules.DER);
        value(inner);
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence())
        {
            w.WriteObjectIdentifier(oid);
            if (critical) w.WriteBoolean(true);
            w.WriteOctetString(inner.Encode());
        }
        return w.Encode();
    }
}
