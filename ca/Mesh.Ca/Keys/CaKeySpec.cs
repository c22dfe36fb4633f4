using System.Security.Cryptography;

namespace Mesh.Ca.Keys;

/// <summary>
/// A private-key type and size as Consul's CA configuration spells them (<c>PrivateKeyType</c> <c>ec</c> or <c>rsa</c>,
/// <c>PrivateKeyBits</c>): EC P-224/P-256/P-384/P-521, RSA 2048/4096. Keys are written as SEC 1 (<c>EC PRIVATE KEY</c>) or
/// PKCS #1 (<c>RSA PRIVATE KEY</c>) PEM, as Consul writes them.
/// </summary>
public sealed record CaKeySpec(string Type, int Bits)
{
    /// <summary>Consul's default: EC P-256.</summary>
    public static readonly CaKeySpec Default = new("ec", 256);

    /// <summary>Why <paramref name="type"/>/<paramref name="bits"/> cannot be used, or null when they can.</summary>
    public static string? Problem(string type, int bits) => type switch
    {
        "ec" when bits is 224 or 256 or 384 or 521 => null,
        "ec" => $"EC keys must be 224, 256, 384 or 521 bits, not {bits}",
        "rsa" when bits is 2048 or 4096 => null,
        "rsa" => $"RSA keys must be 2048 or 4096 bits, not {bits}",
        _ => $"private key type must be \"ec\" or \"rsa\", not \"{type}\"",
    };

    /// <summary>The hash that goes with the key's strength.</summary>
    public HashAlgorithmName Hash => Type == "ec" && Bits == 384 ? HashAlgorithmName.SHA384
        : Type == "ec" && Bits == 521 ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256;

    /// <summary>Makes a new key.</summary>
    /// <exception cref="ArgumentException">The spec is not a usable one.</exception>
    public AsymmetricAlgorithm Generate()
    {
        if (Problem(Type, Bits) is { } why) throw new ArgumentException(why);
        return Type == "rsa" ? RSA.Create(Bits) : ECDsa.Create(Bits switch
        {
            224 => ECCurve.CreateFromFriendlyName("secp224r1"),
            384 => ECCurve.NamedCurves.nistP384,
            521 => ECCurve.NamedCurves.nistP521,
            _ => ECCurve.NamedCurves.nistP256,
        });
    }

    /// <summary>The spec of an existing key.</summary>
    public static CaKeySpec Of(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => new CaKeySpec("rsa", rsa.KeySize),
        ECDsa ec => new CaKeySpec("ec", ec.KeySize),
        _ => throw new ArgumentException($"unsupported key type {key.GetType().Name}"),
    };

    /// <summary>PEM of a private key.</summary>
    public static string ToPem(AsymmetricAlgorithm key) => key switch
    {
        RSA rsa => rsa.ExportRSAPrivateKeyPem(),
        ECDsa ec => ec.ExportECPrivateKeyPem(),
        _ => throw new ArgumentException($"unsupported key type {key.GetType().Name}"),
    };

    /// <summary>Reads a private key PEM (SEC 1, PKCS #1 or PKCS #8).</summary>
    /// <exception cref="ArgumentException">The text holds no key this CA can use.</exception>
    public static AsymmetricAlgorithm FromPem(string pem)
    {
        if (pem.Contains("RSA PRIVATE KEY", StringComparison.Ordinal))
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return rsa;
        }
        try
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return ec;
        }
        catch (CryptographicException)
        {
            try
            {
                var rsa = RSA.Create();
                rsa.ImportFromPem(pem);
                return rsa;
            }
            catch (CryptographicException ex)
            {
                throw new ArgumentException("not an EC or RSA private key in PEM", ex);
            }
        }
    }
}
