using System.Collections.Frozen;
using System.Collections.Immutable;

namespace Mesh.Sidecar.Config;

/// <summary>
/// Everything the proxy runs on: the last accepted resources of each xDS type, translated. Immutable; the xDS client
/// publishes a new one whenever a type is accepted, and the data plane reads the current one per connection or
/// request, so a change applies to new traffic at once while traffic in flight finishes on what it started with.
/// </summary>
internal sealed record SidecarState(
    FrozenDictionary<string, ListenerConfig> Listeners,
    FrozenDictionary<string, ClusterConfig> Clusters,
    FrozenDictionary<string, ClusterLoadAssignmentConfig> Endpoints,
    FrozenDictionary<string, RouteTableConfig> Routes,
    FrozenDictionary<string, CertificateSecret> Certificates,
    FrozenDictionary<string, ValidationSecret> ValidationContexts)
{
    /// <summary>Nothing received yet.</summary>
    public static readonly SidecarState Empty = new(
        FrozenDictionary<string, ListenerConfig>.Empty,
        FrozenDictionary<string, ClusterConfig>.Empty,
        FrozenDictionary<string, ClusterLoadAssignmentConfig>.Empty,
        FrozenDictionary<string, RouteTableConfig>.Empty,
        FrozenDictionary<string, CertificateSecret>.Empty,
        FrozenDictionary<string, ValidationSecret>.Empty);

    /// <summary>The EDS names the clusters need, sorted.</summary>
    public ImmutableArray<string> EndpointNames() =>
        [.. Clusters.Values.Where(c => c.Kind == ClusterKind.Eds).Select(c => c.EdsServiceName ?? c.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The RDS names the listeners need, sorted.</summary>
    public ImmutableArray<string> RouteNames() =>
        [.. Listeners.Values.Select(l => (l.App as HttpConnectionManagerConfig)?.RdsName).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The SDS names the listeners and clusters need, sorted.</summary>
    public ImmutableArray<string> SecretNames()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var listener in Listeners.Values)
        {
            if (listener.Tls is { } tls)
            {
                names.Add(tls.CertificateSecret);
                if (tls.ValidationSecret is { } roots) names.Add(roots);
            }
        }

        foreach (var cluster in Clusters.Values)
        {
            if (cluster.Tls is { } tls)
            {
                names.Add(tls.CertificateSecret);
                if (tls.ValidationSecret is { } roots) names.Add(roots);
            }
        }

        return [.. names];
    }
}
