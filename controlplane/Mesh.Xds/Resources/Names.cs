using Google.Protobuf.Reflection;

namespace Mesh.Xds.Resources;

/// <summary>
/// Well-known names Mesh's resources use and refer to one another by, the type URLs of the resources ADS serves, and
/// the message types an <c>Any</c> field of those resources may hold (for JSON in and out).
/// </summary>
internal static class Names
{
    /// <summary>The cluster in front of the local application (Consul's name).</summary>
    public const string LocalAppCluster = "local_app";

    /// <summary>The SDS secret holding the proxy's leaf certificate chain and key (a <c>tls_certificate</c>).</summary>
    public const string LeafSecret = "leaf";

    /// <summary>The SDS secret holding every trusted CA root (a <c>validation_context</c>).</summary>
    public const string RootsSecret = "roots";

    /// <summary>The transport socket name Envoy knows the TLS socket by (Consul writes the short form).</summary>
    public const string TlsTransportSocket = "tls";

    /// <summary>The key of <c>typed_extension_protocol_options</c> that carries upstream HTTP settings.</summary>
    public const string HttpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /// <summary>The cluster type name of Envoy's aggregate (failover) cluster.</summary>
    public const string AggregateClusterType = "envoy.clusters.aggregate";

    /// <summary>
    /// Prefix of the clusters behind an aggregate failover cluster: <c>failover-target~&lt;i&gt;~&lt;primary SNI&gt;</c>,
    /// as Consul names them, so stats and dashboards built for Consul keep working.
    /// </summary>
    public const string FailoverClusterPrefix = "failover-target~";

    private const string TypePrefix = "type.googleapis.com/";

    /// <summary>Type URL of <c>Listener</c> (LDS).</summary>
    public const string ListenerType = TypePrefix + "envoy.config.listener.v3.Listener";

    /// <summary>Type URL of <c>Cluster</c> (CDS).</summary>
    public const string ClusterType = TypePrefix + "envoy.config.cluster.v3.Cluster";

    /// <summary>Type URL of <c>ClusterLoadAssignment</c> (EDS).</summary>
    public const string EndpointType = TypePrefix + "envoy.config.endpoint.v3.ClusterLoadAssignment";

    /// <summary>Type URL of <c>RouteConfiguration</c> (RDS).</summary>
    public const string RouteType = TypePrefix + "envoy.config.route.v3.RouteConfiguration";

    /// <summary>Type URL of <c>Secret</c> (SDS).</summary>
    public const string SecretType = TypePrefix + "envoy.extensions.transport_sockets.tls.v3.Secret";

    /// <summary>The name of a failover target's cluster behind the aggregate cluster <paramref name="primaryCluster"/>.</summary>
    public static string FailoverCluster(int index, string primaryCluster) => $"{FailoverClusterPrefix}{index}~{primaryCluster}";

    /// <summary>
    /// The SPIFFE ID of a service (REFERENCE §2): what a peer's certificate must carry for the proxy to accept it.
    /// </summary>
    public static string ServiceSpiffeId(string trustDomain, string datacenter, string service) =>
        $"spiffe://{trustDomain}/ns/default/dc/{datacenter}/svc/{service}";

    /// <summary>
    /// Every message type an <c>Any</c> in Mesh's resources (or in user-supplied cluster JSON) may hold: the file
    /// descriptors of the resources and of the extensions their typed configs name. A registry built from files includes
    /// their dependencies, so core and matcher types come along.
    /// </summary>
    public static readonly TypeRegistry AnyTypes = TypeRegistry.FromFiles(
        Envoy.Config.Cluster.V3.ClusterReflection.Descriptor,
        Envoy.Config.Endpoint.V3.EndpointReflection.Descriptor,
        Envoy.Config.Route.V3.RouteReflection.Descriptor,
        Envoy.Config.Listener.V3.ListenerReflection.Descriptor,
        Envoy.Extensions.TransportSockets.Tls.V3.TlsReflection.Descriptor,
        Envoy.Extensions.TransportSockets.Tls.V3.SecretReflection.Descriptor,
        Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptionsReflection.Descriptor,
        Envoy.Extensions.Clusters.Aggregate.V3.ClusterReflection.Descriptor,
        Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManagerReflection.Descriptor,
        Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxyReflection.Descriptor,
        Envoy.Extensions.Filters.Network.Rbac.V3.RbacReflection.Descriptor,
        Envoy.Extensions.Filters.Http.Rbac.V3.RbacReflection.Descriptor,
        Envoy.Extensions.Filters.Http.Router.V3.RouterReflection.Descriptor,
        Envoy.Extensions.Filters.Listener.TlsInspector.V3.TlsInspectorReflection.Descriptor);
}
