using System.Collections.Immutable;

namespace Mesh.State.Tables;

/// <summary>
/// The Connect CA's configuration: which provider, its settings (Consul's <c>Config</c> map, kept as JSON), what the
/// provider stored to find its keys again, and the cluster ID the trust domain is made from.
/// </summary>
public sealed record CaConfiguration
{
    /// <summary>The cluster's ID (a lower-case UUID), made once; the trust domain is <c>&lt;ClusterID&gt;.consul</c>.</summary>
    public required string ClusterID { get; init; }

    /// <summary>The provider's name (<c>consul</c>: the built-in CA).</summary>
    public string Provider { get; init; } = "consul";

    /// <summary>The provider settings as a JSON object (<c>LeafCertTTL</c>, <c>PrivateKeyType</c>...).</summary>
    public string ConfigJson { get; init; } = "{}";

    /// <summary>What the provider keeps (the built-in CA: its private key and root), never shown by the API.</summary>
    public ImmutableDictionary<string, string> ProviderState { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Whether the last rotation went ahead without cross-signing.</summary>
    public bool ForceWithoutCrossSigning { get; init; }

    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }

    /// <summary>Equal in content, whatever the indexes say.</summary>
    public bool SameAs(CaConfiguration other) =>
        ClusterID == other.ClusterID && Provider == other.Provider && ConfigJson == other.ConfigJson &&
        ForceWithoutCrossSigning == other.ForceWithoutCrossSigning && ProviderState.Count == other.ProviderState.Count &&
        ProviderState.All(p => other.ProviderState.TryGetValue(p.Key, out var v) && v == p.Value);
}

/// <summary>A CA root as <c>/v1/connect/ca/roots</c> shows it.</summary>
public sealed record CaRoot
{
    /// <summary>The root's SHA-1 fingerprint, colon hex.</summary>
    public required string ID { get; init; }
    public string Name { get; init; } = "";
    /// <summary>The certificate's serial number (its low 64 bits, as Consul reports it).</summary>
    public ulong SerialNumber { get; init; }
    /// <summary>The subject key ID of the key that signs leaves, colon hex.</summary>
    public string SigningKeyID { get; init; } = "";
    public string ExternalTrustDomain { get; init; } = "";
    public DateTime NotBefore { get; init; }
    public DateTime NotAfter { get; init; }
    public required string RootCert { get; init; }
    /// <summary>Certificates between leaves and this root (a rotation's cross-signed certificate).</summary>
    public ImmutableArray<string> IntermediateCerts { get; init; } = [];
    public bool Active { get; init; }
    public string PrivateKeyType { get; init; } = "ec";
    public int PrivateKeyBits { get; init; } = 256;
    /// <summary>When a rotation made this root inactive; it is dropped once leaves it signed have all expired.</summary>
    public DateTime? RotatedOutAt { get; init; }
    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }

    /// <summary>Equal in content, whatever the indexes say.</summary>
    public bool SameAs(CaRoot other) => this with { CreateIndex = 0, ModifyIndex = 0, IntermediateCerts = [] } ==
        other with { CreateIndex = 0, ModifyIndex = 0, IntermediateCerts = [] } && IntermediateCerts.SequenceEqual(other.IntermediateCerts);
}
