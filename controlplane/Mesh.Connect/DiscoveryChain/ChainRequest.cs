namespace Mesh.Connect.DiscoveryChain;

/// <summary>What to compile: a service, where, and the overrides a caller may give (<c>POST /v1/discovery-chain</c>).</summary>
/// <param name="Service">The service.</param>
/// <param name="Datacenter">The datacenter the chain is evaluated in.</param>
/// <param name="TrustDomain">The Connect trust domain (SNI names end in it).</param>
/// <param name="OverrideProtocol">Use this protocol instead of the configured one.</param>
/// <param name="OverrideConnectTimeout">Use this connect timeout on every target.</param>
public sealed record ChainRequest(string Service, string Datacenter, string TrustDomain, string? OverrideProtocol = null,
    TimeSpan? OverrideConnectTimeout = null)
{
    /// <summary>The namespace: the only one there is.</summary>
    public const string Namespace = "default";
}

/// <summary>A chain that cannot be compiled (a redirect loop, a reference to a subset that does not exist).</summary>
public sealed class ChainCompileException(string message) : Exception(message);
