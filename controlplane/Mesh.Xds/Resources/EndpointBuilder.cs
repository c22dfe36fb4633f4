using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Mesh.Xds.ProxyCfg;

namespace Mesh.Xds.Resources;

/// <summary>
/// Builds a snapshot's load assignments (EDS): one per EDS cluster <see cref="ClusterBuilder"/> makes, named like it,
/// filled from the target's <see cref="EndpointGroup"/>. A pure function of the snapshot.
/// </summary>
/// <remarks>
/// Aggregate clusters have no assignment of their own (their children do). Subsets are already applied by proxycfg:
/// each target has its own group. Many proxies share one group object, so <see cref="Build"/> takes the function that
/// turns (cluster name, group) into an assignment: a cache passes a memoising one and encodes a shared group once.
/// </remarks>
internal static class EndpointBuilder
{
    /// <summary>Envoy's largest endpoint weight (Consul caps weights there too).</summary>
    public const int MaxWeight = 128;

    /// <summary>The snapshot's load assignments, in cluster order.</summary>
    /// <param name="snapshot">The snapshot.</param>
    /// <param name="assign">Makes one assignment; <see cref="Assignment"/> when null.</param>
    public static IReadOnlyList<ClusterLoadAssignment> Build(ConfigSnapshot snapshot,
        Func<string, EndpointGroup, ClusterLoadAssignment>? assign = null)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        assign ??= Assignment;
        var assignments = new List<ClusterLoadAssignment>();
        foreach (var cluster in ClusterBuilder.EdsClusters(snapshot))
        {
            var group = cluster.Upstream.Endpoints.GetValueOrDefault(cluster.Target.ID) ?? EndpointGroup.Empty;
            assignments.Add(assign(cluster.Name, group));
        }
        return assignments;
    }

    /// <summary>
    /// One assignment: every instance of <paramref name="group"/> in one (empty) locality of weight 1 (gRPC refuses a
    /// locality group without a locality and ignores one without a weight), with its health and weight. An empty group gives an assignment with no endpoints, which tells
    /// the proxy the cluster has none rather than leaving it waiting.
    /// </summary>
    public static ClusterLoadAssignment Assignment(string clusterName, EndpointGroup group)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterName);
        ArgumentNullException.ThrowIfNull(group);
        var assignment = new ClusterLoadAssignment { ClusterName = clusterName };
        if (group.Endpoints.Count == 0) return assignment;
        // gRPC refuses a locality group without a locality (even an empty one) or without a weight.
        var locality = new LocalityLbEndpoints { Locality = new Locality(), LoadBalancingWeight = 1 };
        foreach (var endpoint in group.Endpoints)
        {
            // A weight of 0 means the instance should get no traffic (Consul's reading of Weights.Warning = 0); Envoy
            // wants at least 1, so the instance is marked unhealthy instead.
            var healthy = endpoint.Healthy && endpoint.Weight > 0;
            locality.LbEndpoints.Add(new LbEndpoint
            {
                Endpoint = new Endpoint { Address = Address(endpoint.Address, endpoint.Port) },
                HealthStatus = healthy ? HealthStatus.Healthy : HealthStatus.Unhealthy,
                LoadBalancingWeight = (uint)Math.Clamp(endpoint.Weight, 1, MaxWeight),
            });
        }
        assignment.Endpoints.Add(locality);
        return assignment;
    }

    /// <summary>A TCP socket address.</summary>
    internal static Address Address(string host, int port) =>
        new() { SocketAddress = new SocketAddress { Address = host, PortValue = (uint)Math.Clamp(port, 0, 65535) } };
}
