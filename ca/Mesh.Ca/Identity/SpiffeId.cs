using System.Diagnostics.CodeAnalysis;

namespace Mesh.Ca.Identity;

/// <summary>What a SPIFFE ID names.</summary>
public enum SpiffeKind
{
    /// <summary>A service: <c>spiffe://&lt;td&gt;/ns/&lt;ns&gt;/dc/&lt;dc&gt;/svc/&lt;service&gt;</c>.</summary>
    Service,

    /// <summary>An agent: <c>spiffe://&lt;td&gt;/agent/client/dc/&lt;dc&gt;/id/&lt;node-id&gt;</c>.</summary>
    Agent,

    /// <summary>A signing CA: <c>spiffe://&lt;td&gt;</c> with no path.</summary>
    Authority,
}

/// <summary>
/// A Connect identity as a SPIFFE ID, in the URI forms Consul uses. <see cref="Name"/> is the service for a service ID
/// and the node ID for an agent ID.
/// </summary>
/// <param name="Kind">What it names.</param>
/// <param name="TrustDomain">The trust domain, e.g. <c>11111111-2222-3333-4444-555555555555.consul</c>.</param>
/// <param name="Datacenter">The datacenter (empty for an authority).</param>
/// <param name="Name">The service name or node ID (empty for an authority).</param>
/// <param name="Namespace">The namespace of a service (<c>default</c>).</param>
public sealed record SpiffeId(SpiffeKind Kind, string TrustDomain, string Datacenter, string Name, string Namespace = "default")
{
    /// <summary>The trust domain of a cluster: its ID with <c>.consul</c>, whatever the DNS domain is.</summary>
    public static string TrustDomainOf(string clusterId) => clusterId.ToLowerInvariant() + ".consul";

    /// <summary>A service's identity.</summary>
    public static SpiffeId Service(string trustDomain, string datacenter, string service) =>
        new(SpiffeKind.Service, trustDomain, datacenter, service);

    /// <summary>An agent's identity.</summary>
    public static SpiffeId Agent(string trustDomain, string datacenter, string nodeId) =>
        new(SpiffeKind.Agent, trustDomain, datacenter, nodeId);

    /// <summary>The URI of a signing authority in <paramref name="trustDomain"/>.</summary>
    public static SpiffeId Authority(string trustDomain) => new(SpiffeKind.Authority, trustDomain, "", "");

    /// <summary>The URI form.</summary>
    public Uri ToUri() => new(ToString());

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        SpiffeKind.Service => $"spiffe://{TrustDomain}/ns/{Namespace}/dc/{Datacenter}/svc/{Name}",
        SpiffeKind.Agent => $"spiffe://{TrustDomain}/agent/client/dc/{Datacenter}/id/{Name}",
        _ => $"spiffe://{TrustDomain}",
    };

    /// <summary>Reads a SPIFFE ID in one of Consul's forms; false for anything else.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out SpiffeId? id)
    {
        id = null;
        if (text is null || !text.StartsWith("spiffe://", StringComparison.OrdinalIgnoreCase)) return false;
        var rest = text["spiffe://".Length..];
        var slash = rest.IndexOf('/');
        var trustDomain = (slash < 0 ? rest : rest[..slash]).ToLowerInvariant();
        if (trustDomain.Length == 0 || Uri.CheckHostName(trustDomain) != UriHostNameType.Dns) return false;
        if (slash < 0 || slash == rest.Length - 1)
        {
            id = Authority(trustDomain);
            return true;
        }
        var parts = rest[(slash + 1)..].Split('/');
        if (parts.Any(p => p.Length == 0)) return false;
        if (parts is ["ns", var ns, "dc", var dc, "svc", var svc])
        {
            id = new SpiffeId(SpiffeKind.Service, trustDomain, dc, Uri.UnescapeDataString(svc), ns);
            return true;
        }
        if (parts is ["agent", "client", "dc", var adc, "id", var node])
        {
            id = Agent(trustDomain, adc, node);
            return true;
        }
        return false;
    }
}
