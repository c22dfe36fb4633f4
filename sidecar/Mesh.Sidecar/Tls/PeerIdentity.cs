using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Sidecar.Tls;

/// <summary>Reads who a certificate belongs to.</summary>
internal static class PeerIdentity
{
    private const string SubjectAltNameOid = "2.5.29.17";

    /// <summary>The certificate's URI SANs (Mesh leaves carry one SPIFFE id).</summary>
    public static IReadOnlyList<string> UriSans(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != SubjectAltNameOid) continue;
            var uris = new List<string>(1);
            try
            {
                var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
                var names = reader.ReadSequence();
                while (names.HasData)
                {
                    var tag = names.PeekTag();
                    // GeneralName uniformResourceIdentifier is [6] IA5String, implicitly tagged.
                    if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue == 6)
                    {
                        uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 6)));
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException)
            {
                return [];
            }

            return uris;
        }

        return [];
    }

    /// <summary>The principal RBAC matches: the first URI SAN, else the subject (as Envoy does).</summary>
    public static string Principal(X509Certificate2 certificate)
    {
        var uris = UriSans(certificate);
        return uris.Count > 0 ? uris[0] : certificate.Subject;
    }
}
