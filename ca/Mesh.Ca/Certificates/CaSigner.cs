using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Ca.Keys;

namespace Mesh.Ca.Certificates;

/// <summary>A CA certificate with its private key, ready to sign: the pieces every signature needs, made once.</summary>
public sealed class CaSigner : IDisposable
{
    /// <param name="certificate">The CA certificate (its public key must match <paramref name="key"/>).</param>
    /// <param name="key">The CA's private key; the signer owns it from now on.</param>
    public CaSigner(X509Certificate2 certificate, AsymmetricAlgorithm key)
    {
        Certificate = certificate;
        Key = key;
        Spec = CaKeySpec.Of(key);
        Generator = CertificateFactory.Generator(key);
        SubjectKeyId = Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()?.SubjectKeyIdentifierBytes.ToArray()
            ?? CertificateFactory.KeyId(Certificate.PublicKey);
        AuthorityKeyIdentifier = X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(SubjectKeyId);
        SignatureAlgorithm = Generator.GetSignatureAlgorithmIdentifier(Hash);
    }

    /// <summary>The DER AlgorithmIdentifier of this CA's signatures.</summary>
    public byte[] SignatureAlgorithm { get; }

    /// <summary>Signs DER bytes (a TBSCertificate) the way <see cref="SignatureAlgorithm"/> says.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => Key switch
    {
        ECDsa ec => ec.SignData(data, Hash, DSASignatureFormat.Rfc3279DerSequence),
        RSA rsa => rsa.SignData(data, Hash, RSASignaturePadding.Pkcs1),
        _ => throw new InvalidOperationException("unsupported key"),
    };

    /// <summary>The CA certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The private key.</summary>
    public AsymmetricAlgorithm Key { get; }

    /// <summary>The key's type and size.</summary>
    public CaKeySpec Spec { get; }

    /// <summary>Produces signatures with <see cref="Key"/>.</summary>
    public X509SignatureGenerator Generator { get; }

    /// <summary>The CA's subject key identifier (what certificates it signs name as their authority key).</summary>
    public byte[] SubjectKeyId { get; }

    /// <summary>The authority key identifier extension for certificates this CA signs.</summary>
    public X509AuthorityKeyIdentifierExtension AuthorityKeyIdentifier { get; }

    /// <summary>The hash used in signatures.</summary>
    public HashAlgorithmName Hash => Spec.Hash;

    /// <inheritdoc/>
    public void Dispose()
    {
        Key.Dispose();
        Certificate.Dispose();
    }
}
