namespace Mesh.Xds.Cache;

/// <summary>The five xDS resource types Mesh serves, by type URL, and the order a stream receives them in.</summary>
public static class TypeUrls
{
    /// <summary>CDS: <c>envoy.config.cluster.v3.Cluster</c>.</summary>
    public const string Cluster = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

    /// <summary>EDS: <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</summary>
    public const string Endpoint = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

    /// <summary>LDS: <c>envoy.config.listener.v3.Listener</c>.</summary>
    public const string Listener = "type.googleapis.com/envoy.config.listener.v3.Listener";

    /// <summary>RDS: <c>envoy.config.route.v3.RouteConfiguration</c>.</summary>
    public const string Route = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

    /// <summary>SDS: <c>envoy.extensions.transport_sockets.tls.v3.Secret</c>.</summary>
    public const string Secret = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    /// <summary>
    /// The order in which a stream is sent the types that changed: secrets, clusters, endpoints, listeners, routes.
    /// </summary>
    /// <remarks>
    /// Envoy applies each response as it arrives, so a response must never refer to something the proxy has not been
    /// given yet (Envoy's "eventual consistency considerations"; go-control-plane and Consul send in the same order).
    /// A cluster's or listener's TLS context names an SDS secret, so secrets come first; an EDS assignment belongs to a
    /// cluster, so clusters precede endpoints; a listener routes to clusters (tcp_proxy) or names a route
    /// configuration, so listeners come after clusters and endpoints; a route configuration points at clusters and is
    /// asked for by a listener, so it comes last.
    /// </remarks>
    public static IReadOnlyList<string> Ordered { get; } = [Secret, Cluster, Endpoint, Listener, Route];

    /// <summary>How many types there are; <see cref="IndexOf"/> maps a type URL into <c>[0, Count)</c>.</summary>
    public const int Count = 5;

    /// <summary>The short name of a type (<c>CDS</c>, <c>EDS</c>, ...) for logs and metrics; the URL itself when unknown.</summary>
    public static string ShortName(string typeUrl) => IndexOf(typeUrl) switch
    {
        0 => "SDS",
        1 => "CDS",
        2 => "EDS",
        3 => "LDS",
        4 => "RDS",
        _ => typeUrl,
    };

    /// <summary>The type's position in <see cref="Ordered"/>, or -1 for a type URL Mesh does not serve.</summary>
    public static int IndexOf(string typeUrl) => typeUrl switch
    {
        Secret => 0,
        Cluster => 1,
        Endpoint => 2,
        Listener => 3,
        Route => 4,
        _ => -1,
    };

    /// <summary>
    /// Whether a client may subscribe to the type as a whole (wildcard): listeners and clusters are global to a proxy;
    /// routes, endpoints and secrets are always asked for by name, because a listener or cluster names them.
    /// </summary>
    public static bool AllowsWildcard(string typeUrl) => typeUrl is Listener or Cluster;
}
