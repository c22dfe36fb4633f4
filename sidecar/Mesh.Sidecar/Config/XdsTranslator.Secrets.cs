using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using Mesh.Xds.Cache;

namespace Mesh.Sidecar.Config;

internal sealed partial class XdsTranslator
{
    /// <summary>
    /// Replaces every secret: SDS sends certificates and trust bundles as one type, so both maps are rebuilt from the
    /// response, and a name may stand for only one secret.
    /// </summary>
    private SidecarState ApplySecrets(SidecarState current, IReadOnlyList<Any> resources)
    {
        var all = Translate(resources, TypeUrls.Secret, "secret", Secret.Parser, s => s.Name, TranslateSecret);
        var certificates = new Dictionary<string, CertificateSecret>(StringComparer.Ordinal);
        var validations = new Dictionary<string, ValidationSecret>(StringComparer.Ordinal);
        foreach (var (name, secret) in all)
        {
            if (secret is CertificateSecret certificate) certificates.Add(name, certificate);
            else validations.Add(name, (ValidationSecret)secret);
        }
        return current with
        {
            Certificates = certificates.ToFrozenDictionary(StringComparer.Ordinal),
            ValidationContexts = validations.ToFrozenDictionary(StringComparer.Ordinal),
        };
    }

    private static object TranslateSecret(Secret secret) => secret.TypeCase switch
    {
        Secret.TypeOneofCase.TlsCertificate => Certificate(secret.Name, secret.TlsCertificate, "tls_certificate"),
        Secret.TypeOneofCase.ValidationContext => Validation(secret.Name, secret.ValidationContext, "validation_context"),
        Secret.TypeOneofCase.None => throw Fail("", "the secret has neither tls_certificate nor validation_context"),
        _ => throw Fail("", $"{Snake(secret.TypeCase.ToString())} secrets are not supported"),
    };

    /// <summary>
    /// A certificate with its key: the first PEM certificate of the chain is the leaf, the rest are intermediates to
    /// send. The leaf is re-imported through PKCS#12 so its key is a persisted one that every TLS backend accepts
    /// (a key attached by <see cref="X509Certificate2.CreateFromPem(ReadOnlySpan{char}, ReadOnlySpan{char})"/> is ephemeral).
    /// </summary>
    private static CertificateSecret Certificate(string name, TlsCertificate certificate, string path)
    {
        if (certificate.PrivateKeyProvider is not null) throw Fail(path, "private_key_provider is not supported");
        if (certificate.Password is not null) throw Fail(path, "password is not supported");
        if (certificate.OcspStaple is not null) throw Fail(path, "ocsp_staple is not supported");
        if (certificate.WatchedDirectory is not null) throw Fail(path, "watched_directory is not supported");
        var chainPem = Inline(certificate.CertificateChain, path, "certificate_chain");
        var keyPem = Inline(certificate.PrivateKey, path, "private_key");

        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPem(chainPem);
        }
        catch (CryptographicException e)
        {
            throw Fail(path, $"certificate_chain cannot be read: {e.Message}");
        }
        if (chain.Count == 0) throw Fail(path, "certificate_chain holds no PEM certificate");

        X509Certificate2 leaf;
        try
        {
            using var withKey = X509Certificate2.CreateFromPem(chainPem, keyPem);
            leaf = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.Exportable);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw Fail(path, $"private_key cannot be read or does not match the certificate: {e.Message}");
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < chain.Count; i++) intermediates.Add(chain[i]);
        chain[0].Dispose();
        return new CertificateSecret(name, leaf, intermediates);
    }

    /// <summary>A trust bundle: one or more PEM roots in <c>trusted_ca</c>, inline.</summary>
    private static ValidationSecret Validation(string name, CertificateValidationContext context, string path)
    {
        if (context.MatchTypedSubjectAltNames.Count > 0) throw Fail(path, "match_typed_subject_alt_names is not supported in a secret");
#pragma warning disable CS0612 // The deprecated field is refused all the same.
        if (context.MatchSubjectAltNames.Count > 0) throw Fail(path, "match_subject_alt_names is not supported in a secret");
#pragma warning restore CS0612
        if (context.VerifyCertificateSpki.Count > 0) throw Fail(path, "verify_certificate_spki is not supported");
        if (context.VerifyCertificateHash.Count > 0) throw Fail(path, "verify_certificate_hash is not supported");
        if (context.Crl is not null) throw Fail(path, "crl is not supported");
        if (context.AllowExpiredCertificate) throw Fail(path, "allow_expired_certificate is not supported");
        if (context.TrustChainVerification != CertificateValidationContext.Types.TrustChainVerification.VerifyTrustChain)
            throw Fail(path, "trust_chain_verification ACCEPT_UNTRUSTED is not supported");
        var pem = Inline(context.TrustedCa, path, "trusted_ca");
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw Fail(path, $"trusted_ca cannot be read: {e.Message}");
        }
        if (roots.Count == 0) throw Fail(path, "trusted_ca holds no PEM certificate");
        return new ValidationSecret(name, roots);
    }
}
