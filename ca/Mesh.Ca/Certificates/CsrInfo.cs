using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Ca.Certificates;

/// <summary>
/// A PKCS #10 certificate signing request (RFC 2986) after its self-signature has been checked, with the subject
/// alternative names it asks for. Only the public key and the names are used when signing: everything else a CSR may
/// carry is ignored, so a request cannot smuggle in extensions (a CA flag, other key usages) of its own. Read directly
/// from its DER with <see cref="AsnReader"/>, since signing throughput depends on it.
/// </summary>
public sealed class CsrInfo
{
    /// <summary>Largest PEM accepted: a CSR with a 4096-bit RSA key and a few names is well under 4 KiB.</summary>
    public const int MaxPemLength = 64 * 1024;

    private const string EcPublicKey = "1.2.840.10045.2.1", RsaEncryption = "1.2.840.113549.1.1.1", ExtensionRequest = "1.2.840.113549.1.9.14",
        SubjectAltName = "2.5.29.17";

    private CsrInfo(byte[] subject, byte[] subjectPublicKeyInfo, IReadOnlyList<string> uris, IReadOnlyList<string> dnsNames, IReadOnlyList<IPAddress> ips)
    {
        SubjectName = subject;
        SubjectPublicKeyInfo = subjectPublicKeyInfo;
        Uris = uris;
        DnsNames = dnsNames;
        IpAddresses = ips;
    }

    /// <summary>The requested subject, DER.</summary>
    public ReadOnlyMemory<byte> SubjectName { get; }

    /// <summary>The requested key as a DER SubjectPublicKeyInfo, copied as is into the certificate.</summary>
    public ReadOnlyMemory<byte> SubjectPublicKeyInfo { get; }

    /// <summary>The requested public key.</summary>
    public PublicKey PublicKey => PublicKey.CreateFromSubjectPublicKeyInfo(SubjectPublicKeyInfo.Span, out _);

    /// <summary>URI SANs asked for.</summary>
    public IReadOnlyList<string> Uris { get; }

    /// <summary>DNS SANs asked for.</summary>
    public IReadOnlyList<string> DnsNames { get; }

    /// <summary>IP SANs asked for.</summary>
    public IReadOnlyList<IPAddress> IpAddresses { get; }

    /// <summary>Reads and checks a PEM CSR.</summary>
    /// <param name="pem">The request.</param>
    /// <param name="verifySignature">
    /// Whether to check the request's self-signature (proof that the asker holds the key). Leave it on for requests from
    /// elsewhere. A caller that made the key itself a moment ago may skip it: importing the public key into OpenSSL
    /// costs more than signing the certificate does.
    /// </param>
    /// <exception cref="CsrException">Too big, not a CSR, a bad self-signature, or unreadable names.</exception>
    public static CsrInfo Parse(string pem, bool verifySignature = true)
    {
        if (string.IsNullOrWhiteSpace(pem)) throw new CsrException("the CSR is empty");
        if (pem.Length > MaxPemLength) throw new CsrException($"the CSR is larger than {MaxPemLength} bytes");
        if (!PemEncoding.TryFind(pem, out var fields) || !pem.AsSpan()[fields.Label].SequenceEqual("CERTIFICATE REQUEST") &&
            !pem.AsSpan()[fields.Label].SequenceEqual("NEW CERTIFICATE REQUEST"))
            throw new CsrException("not a valid certificate signing request: no CERTIFICATE REQUEST PEM block");
        var der = new byte[fields.DecodedDataLength];
        if (!Convert.TryFromBase64Chars(pem.AsSpan()[fields.Base64Data], der, out var length))
            throw new CsrException("not a valid certificate signing request: bad base64");
        try
        {
            return Read(der.AsMemory(0, length), verifySignature);
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException or ArgumentException)
        {
            throw new CsrException($"not a valid certificate signing request: {ex.Message}");
        }
    }

    private static CsrInfo Read(ReadOnlyMemory<byte> der, bool verifySignature)
    {
        var outer = new AsnReader(der, AsnEncodingRules.DER);
        var request = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        var infoBytes = request.ReadEncodedValue();
        var algorithm = request.ReadSequence();
        var signatureOid = algorithm.ReadObjectIdentifier();
        var signature = request.ReadBitString(out var unused);
        request.ThrowIfNotEmpty();
        if (unused != 0) throw new CsrException("not a valid certificate signing request: signature has unused bits");

        var info = new AsnReader(infoBytes, AsnEncodingRules.DER).ReadSequence();
        if (!info.TryReadInt32(out var version) || version != 0) throw new CsrException("not a valid certificate signing request: version must be 1");
        var subject = info.ReadEncodedValue().ToArray();
        var spki = info.ReadEncodedValue().ToArray();
        var uris = new List<string>();
        var dns = new List<string>();
        var ips = new List<IPAddress>();
        if (info.HasData)
        {
            // Requesters do not always sort SET OF as DER wants; the order carries no meaning here.
            var attributes = info.ReadSetOf(skipSortOrderValidation: true, new Asn1Tag(TagClass.ContextSpecific, 0));
            while (attributes.HasData)
            {
                var attribute = attributes.ReadSequence();
                if (attribute.ReadObjectIdentifier() != ExtensionRequest) continue;
                var values = attribute.ReadSetOf(skipSortOrderValidation: true);
                var extensions = values.ReadSequence();
                while (extensions.HasData)
                {
                    var extension = extensions.ReadSequence();
                    var oid = extension.ReadObjectIdentifier();
                    if (extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean)) extension.ReadBoolean();
                    var value = extension.ReadOctetString();
                    if (oid == SubjectAltName) ReadNames(value, uris, dns, ips);
                }
            }
        }
        var family = SignatureFamily(signatureOid, out var hash);
        var keyAlgorithm = new AsnReader(spki, AsnEncodingRules.DER).ReadSequence().ReadSequence().ReadObjectIdentifier();
        if (keyAlgorithm != family) throw new CsrException("the CSR's signature algorithm does not match its key");
        if (verifySignature) Verify(spki, family, hash, infoBytes.Span, signature);
        return new CsrInfo(subject, spki, uris, dns, ips);
    }

    /// <summary>Checks the request's self-signature: it proves the asker holds the private key.</summary>
    private static string SignatureFamily(string signatureOid, out HashAlgorithmName hash)
    {
        (var family, hash) = signatureOid switch
        {
            "1.2.840.10045.4.3.2" => (EcPublicKey, HashAlgorithmName.SHA256),
            "1.2.840.10045.4.3.3" => (EcPublicKey, HashAlgorithmName.SHA384),
            "1.2.840.10045.4.3.4" => (EcPublicKey, HashAlgorithmName.SHA512),
            "1.2.840.113549.1.1.11" => (RsaEncryption, HashAlgorithmName.SHA256),
            "1.2.840.113549.1.1.12" => (RsaEncryption, HashAlgorithmName.SHA384),
            "1.2.840.113549.1.1.13" => (RsaEncryption, HashAlgorithmName.SHA512),
            _ => throw new CsrException($"the CSR is signed with an unsupported algorithm ({signatureOid})"),
        };
        return family;
    }

    private static void Verify(byte[] spki, string family, HashAlgorithmName hash, ReadOnlySpan<byte> signed, ReadOnlySpan<byte> signature)
    {
        bool valid;
        if (family == EcPublicKey)
        {
            using var ec = ECDsa.Create();
            ec.ImportSubjectPublicKeyInfo(spki, out _);
            valid = ec.VerifyData(signed, signature, hash, DSASignatureFormat.Rfc3279DerSequence);
        }
        else
        {
            using var rsa = RSA.Create();
            rsa.ImportSubjectPublicKeyInfo(spki, out _);
            valid = rsa.VerifyData(signed, signature, hash, RSASignaturePadding.Pkcs1);
        }
        if (!valid) throw new CsrException("not a valid certificate signing request: its signature does not verify");
    }

    /// <summary>Reads a SubjectAltName value (RFC 5280 §4.2.1.6): URIs, DNS names and IP addresses; other forms are skipped.</summary>
    internal static void ReadNames(ReadOnlyMemory<byte> der, List<string> uris, List<string> dns, List<IPAddress> ips)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        var names = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        while (names.HasData)
        {
            var tag = names.PeekTag();
            if (tag.TagClass != TagClass.ContextSpecific)
            {
                names.ReadEncodedValue();
                continue;
            }
            switch (tag.TagValue)
            {
                case 2:
                    dns.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 2)));
                    break;
                case 6:
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 6)));
                    break;
                case 7:
                    var bytes = names.ReadOctetString(new Asn1Tag(TagClass.ContextSpecific, 7));
                    if (bytes.Length is 4 or 16) ips.Add(new IPAddress(bytes));
                    break;
                default:
                    names.ReadEncodedValue();
                    break;
            }
        }
    }
}

/// <summary>A CSR that cannot be signed; the message says why.</summary>
public sealed class CsrException(string message) : Exception(message);
