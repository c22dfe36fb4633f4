using System.Security.Cryptography.X509Certificates;
using Mesh.Ca.Certificates;
using Mesh.Ca.Identity;
using Mesh.Ca.Keys;

namespace Mesh.Ca.Providers;

/// <summary>What a provider is configured with.</summary>
/// <param name="ClusterId">The cluster's ID (a UUID); the trust domain is derived from it.</param>
/// <param name="Datacenter">The datacenter the provider serves.</param>
/// <param name="IsPrimary">Whether this is the primary datacenter (which owns the root).</param>
/// <param name="KeySpec">Key type and size for keys the provider makes.</param>
/// <param name="RootTtl">Lifetime of a root it makes.</param>
/// <param name="IntermediateTtl">Lifetime of an intermediate it makes or signs.</param>
/// <param name="State">What the provider stored last time (its keys, for the built-in one); empty on first use.</param>
public sealed record CaProviderSettings(string ClusterId, string Datacenter, bool IsPrimary, CaKeySpec KeySpec, TimeSpan RootTtl,
    TimeSpan IntermediateTtl, IReadOnlyDictionary<string, string> State)
{
    /// <summary>The trust domain: <c>&lt;cluster-id&gt;.consul</c>.</summary>
    public string TrustDomain => SpiffeId.TrustDomainOf(ClusterId);
}

/// <summary>
/// A certificate authority behind Connect, with the operations Consul's providers have. The built-in provider keeps its
/// keys in <see cref="State"/>, which the control plane stores through the replicated log so every server agrees; a
/// provider backed by an external CA (Vault) keeps them there instead and returns little or no state.
/// </summary>
public interface ICaProvider : IDisposable
{
    /// <summary>The provider's name in the CA configuration (<c>consul</c> for the built-in one).</summary>
    string Name { get; }

    /// <summary>Applies settings; the provider may load keys from <see cref="CaProviderSettings.State"/>.</summary>
    /// <exception cref="CaProviderException">The settings or the stored state cannot be used.</exception>
    void Configure(CaProviderSettings settings);

    /// <summary>What must be stored for the provider to find its keys again.</summary>
    IReadOnlyDictionary<string, string> State { get; }

    /// <summary>The root certificate (PEM), made on first use and the same afterwards.</summary>
    string GenerateRoot(DateTimeOffset now);

    /// <summary>Makes (or renews) the certificate that signs leaves and returns it (PEM).</summary>
    string GenerateIntermediate(DateTimeOffset now);

    /// <summary>The certificate that currently signs leaves (PEM); the root itself when the provider signs with it.</summary>
    string ActiveIntermediate();

    /// <summary>Signs a leaf for <paramref name="id"/> with the requested key and names.</summary>
    IssuedCertificate SignLeaf(CsrInfo csr, SpiffeId id, TimeSpan ttl, DateTimeOffset now);

    /// <summary>Signs a secondary datacenter's intermediate CSR (PEM out).</summary>
    string SignIntermediate(CsrInfo csr, DateTimeOffset now);

    /// <summary>Signs <paramref name="otherRoot"/>'s key with this provider's root key, so leaves under it chain here too (PEM).</summary>
    string CrossSignCa(X509Certificate2 otherRoot, DateTimeOffset now);

    /// <summary>Releases what the provider made outside the store when it is replaced.</summary>
    void Cleanup(bool providerTypeChange);
}

/// <summary>A provider operation that cannot be done; the message says why.</summary>
public sealed class CaProviderException(string message) : Exception(message);
