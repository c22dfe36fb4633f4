using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Ca.Certificates;

/// <summary>
/// Subject-alternative-name extensions with URIs exactly as written. <see cref="SubjectAlternativeNameBuilder"/> takes a
/// <see cref="Uri"/>, which turns <c>spiffe://host</c> into <c>spiffe://host/</c>; SPIFFE IDs are compared as strings, so
/// a CA's <c>spiffe://&lt;trust-domain&gt;</c> must keep its exact form.
/// </summary>
internal static class SanExtension
{
    /// <summary>The extension (non-critical: every certificate here also has a subject).</summary>
    public static X509Extension Create(IEnumerable<string> uris, IEnumerable<string> dnsNames, IEnumerable<IPAddress> ips)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var dns in dnsNames) writer.WriteCharacterString(UniversalTagNumber.IA5String, dns, new Asn1Tag(TagClass.ContextSpecific, 2));
            foreach (var uri in uris) writer.WriteCharacterString(UniversalTagNumber.IA5String, uri, new Asn1Tag(TagClass.ContextSpecific, 6));
            foreach (var ip in ips) writer.WriteOctetString(ip.GetAddressBytes(), new Asn1Tag(TagClass.ContextSpecific, 7));
        }
        return new X509Extension("2.5.29.17", writer.Encode(), critical: false);
    }
}
