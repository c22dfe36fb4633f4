using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Ca.Certificates;

/// <summary>
/// A certificate signing request after its self-signature has been checked, with the subject alternative names it asks
/// for. Only the public key and the names are used when signing: everything else a CSR may carry is ignored, so a
/// request cannot smuggle in extensions (a CA flag, other key usages) of its own.
/// </summary>
public sealed class CsrInfo
{
    /// <summary>Largest PEM accepted: a CSR with a 4096-bit RSA key and a few names is well under 4 KiB.</summary>
    public const int MaxPemLength = 64 * 1024;

    private CsrInfo(CertificateRequest request, IReadOnlyList<string> uris, IReadOnlyList<string> dnsNames, IReadOnlyList<IPAddress> ips)
    {
        Request = request;
        Uris = uris;
        DnsNames = dnsNames;
        IpAddresses = ips;
    }

    /// <summary>The parsed request.</summary>
    public CertificateRequest Request { get; }

    /// <summary>The requested public key.</summary>
    public PublicKey PublicKey => Request.PublicKey;

    /// <summary>URI SANs asked for.</summary>
    public IReadOnlyList<string> Uris { get; }

    /// <summary>DNS SANs asked for.</summary>
    public IReadOnlyList<string> DnsNames { get; }

    /// <summary>IP SANs asked for.</summary>
    public IReadOnlyList<IPAddress> IpAddresses { get; }

    /// <summary>Reads and checks a PEM CSR.</summary>
    /// <exception cref="CsrException">Too big, not a CSR, a bad self-signature, or unreadable names.</exception>
    public static CsrInfo Parse(string pem)
    {
        if (string.IsNullOrWhiteSpace(pem)) throw new CsrException("the CSR is empty");
        if (pem.Length > MaxPemLength) throw new CsrException($"the CSR is larger than {MaxPemLength} bytes");
        CertificateRequest request;
        try
        {
            // The default load options verify the request's signature: it proves the asker holds the private key.
            request = CertificateRequest.LoadSigningRequestPem(pem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new CsrException($"not a valid certificate signing request: {ex.Message}");
        }
        var uris = new List<string>();
        var dns = new List<string>();
        var ips = new List<IPAddress>();
        foreach (var ext in request.CertificateExtensions)
        {
            if (ext.Oid?.Value != "2.5.29.17") continue;
            try
            {
                ReadNames(ext.RawData, uris, dns, ips);
            }
            catch (AsnContentException ex)
            {
                throw new CsrException($"the CSR's subject alternative names cannot be read: {ex.Message}");
            }
        }
        return new CsrInfo(request, uris, dns, ips);
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
