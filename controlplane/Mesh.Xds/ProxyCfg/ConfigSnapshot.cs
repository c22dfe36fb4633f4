using Mesh.Connect.DiscoveryChain;
using Mesh.Connect.Intentions;

namespace Mesh.Xds.ProxyCfg;

/// <summary>Who a snapshot configures: an Envoy (or native) sidecar of one service, or a proxyless gRPC client.</summary>
public enum ProxyMode
{
    /// <summary>A registered <c>connect-proxy</c>: public mTLS listener, one listener per upstream, TLS clusters.</summary>
    Sidecar,

    /// <summary>A gRPC client speaking xDS itself: API listeners named after services, plaintext clusters.</summary>
    Proxyless,
}

/// <summary>
/// Everything one proxy's configuration is made of, at one moment: immutable, complete (never emitted half-built),
/// and the only input of the resource builders. Built by proxycfg from watches on the catalog, CA roots, the leaf,
/// intentions and config entries; a newer snapshot replaces an older one whole ("latest wins").
/// </summary>
/// <remarks>
/// Parts that many proxies share (an upstream's endpoints, the roots) are the same object in each proxy's snapshot, so
/// a builder or cache may recognise them by reference and encode them once.
/// </remarks>
public sealed record ConfigSnapshot
{
    /// <summary>Sidecar or proxyless.</summary>
    public ProxyMode Mode { get; init; } = ProxyMode.Sidecar;

    /// <summary>The proxy's service ID (Envoy's node id); for proxyless clients, the node id they sent.</summary>
    public required string ProxyId { get; init; }

    /// <summary>The proxy's service name (<c>web-sidecar-proxy</c>); empty for proxyless clients.</summary>
    public string ProxyName { get; init; } = "";

    /// <summary>The datacenter the proxy is in.</summary>
    public required string Datacenter { get; init; }

    /// <summary>The Connect trust domain (<c>&lt;cluster-id&gt;.consul</c>); SNI names and SPIFFE IDs end in it.</summary>
    public required string TrustDomain { get; init; }

    /// <summary>The service the sidecar fronts (its identity). Null for proxyless clients.</summary>
    public LocalService? Local { get; init; }

    /// <summary>Trust bundle: every CA root, active first. Empty for proxyless clients.</summary>
    public IReadOnlyList<RootCertificate> Roots { get; init; } = [];

    /// <summary>The leaf certificate of <see cref="Local"/>'s service. Null for proxyless clients.</summary>
    public LeafCertificate? Leaf { get; init; }

    /// <summary>The intentions whose destination is <see cref="Local"/>'s service (exact or <c>*</c>), highest precedence first.</summary>
    public IReadOnlyList<IntentionRule> Intentions { get; init; } = [];

    /// <summary>Whether a connection no intention matches is allowed (<c>default_intention_policy</c>).</summary>
    public bool DefaultAllow { get; init; } = true;

    /// <summary>The upstreams, in the order the proxy definition lists them (proxyless: the services asked for, by name).</summary>
    public IReadOnlyList<UpstreamSnapshot> Upstreams { get; init; } = [];

    /// <summary>Settings from <c>proxy-defaults</c>, the proxy's own <c>Config</c>, and <c>service-defaults</c>, merged.</summary>
    public ProxySettings Settings { get; init; } = ProxySettings.Default;
}

/// <summary>The sidecar's side of the mesh: its public address and the application behind it.</summary>
/// <param name="Service">The destination service's name (<c>counting</c>): the identity in its certificate.</param>
/// <param name="ServiceId">The destination service's ID (<c>counting-1</c>).</param>
/// <param name="Address">Where the proxy listens for mesh traffic (the proxy's address, else the node's).</param>
/// <param name="Port">The proxy's port.</param>
/// <param name="LocalAddress">The application's address as the proxy reaches it (default 127.0.0.1).</param>
/// <param name="LocalPort">The application's port.</param>
/// <param name="Protocol">The application's protocol: <c>tcp</c>, <c>http</c>, <c>http2</c> or <c>grpc</c>.</param>
public sealed record LocalService(string Service, string ServiceId, string Address, int Port, string LocalAddress, int LocalPort,
    string Protocol);

/// <summary>A CA root the proxy trusts.</summary>
/// <param name="Id">The root's ID.</param>
/// <param name="CertPem">The root certificate, with any intermediates of the root after it, PEM.</param>
/// <param name="Active">Whether it signs new leaves.</param>
public sealed record RootCertificate(string Id, string CertPem, bool Active);

/// <summary>A leaf certificate and its key.</summary>
/// <param name="CertPem">The certificate (and the chain to the root, if any), PEM.</param>
/// <param name="PrivateKeyPem">Its private key, PEM.</param>
/// <param name="SerialNumber">Its serial number, colon-separated hex as Consul prints it.</param>
public sealed record LeafCertificate(string CertPem, string PrivateKeyPem, string SerialNumber);

/// <summary>One upstream: where the local application connects, and the compiled route to the service behind it.</summary>
/// <param name="Name">The upstream's destination name (<c>counting</c>); it names its listener and route.</param>
/// <param name="BindAddress">Local bind address (default 127.0.0.1); unused for proxyless clients.</param>
/// <param name="BindPort">Local bind port; 0 for proxyless clients.</param>
/// <param name="Protocol">The chain's protocol after overrides: tcp, http, http2 or grpc.</param>
/// <param name="Chain">The compiled discovery chain.</param>
/// <param name="Endpoints">Endpoints by chain target ID; every target of the chain has an entry (possibly empty).</param>
/// <param name="ConnectTimeout">The upstream's connect timeout override (<c>connect_timeout_ms</c>), or null for the chain's.</param>
/// <param name="Limits">Circuit-breaker limits from the upstream's config, or null for Envoy's defaults.</param>
/// <param name="PassiveHealthCheck">Outlier detection from the upstream's config, or null for none.</param>
public sealed record UpstreamSnapshot(string Name, string BindAddress, int BindPort, string Protocol, CompiledChain Chain,
    IReadOnlyDictionary<string, EndpointGroup> Endpoints, TimeSpan? ConnectTimeout = null, UpstreamLimits? Limits = null,
    PassiveHealthCheck? PassiveHealthCheck = null)
{
    /// <summary>The listener name Consul gives an upstream: <c>&lt;name&gt;:&lt;bind-address&gt;:&lt;port&gt;</c>.</summary>
    public string ListenerName => $"{Name}:{BindAddress}:{BindPort}";
}

/// <summary>
/// The instances behind one chain target: for a sidecar, the target service's sidecar proxies (address and port of
/// the proxy, as mTLS goes proxy to proxy); for a proxyless client, the service instances themselves. One immutable
/// object per (service, subset, mode) shared by every snapshot that uses it.
/// </summary>
/// <param name="Endpoints">The instances, healthy first, in a stable order.</param>
public sealed record EndpointGroup(IReadOnlyList<ServiceEndpoint> Endpoints)
{
    /// <summary>An empty group.</summary>
    public static readonly EndpointGroup Empty = new([]);
}

/// <summary>One instance.</summary>
/// <param name="Address">IP address or host name.</param>
/// <param name="Port">Port.</param>
/// <param name="Healthy">Whether every check passes (or warns) and neither node nor service is in maintenance.</param>
/// <param name="Weight">Load-balancing weight: <c>Weights.Passing</c>, or <c>Weights.Warning</c> when a check warns.</param>
public sealed record ServiceEndpoint(string Address, int Port, bool Healthy, int Weight);

/// <summary>Circuit-breaker limits for an upstream's clusters (Consul's <c>limits</c> upstream config).</summary>
public sealed record UpstreamLimits(int? MaxConnections, int? MaxPendingRequests, int? MaxConcurrentRequests);

/// <summary>Outlier detection for an upstream's clusters (Consul's <c>passive_health_check</c> upstream config).</summary>
public sealed record PassiveHealthCheck(TimeSpan Interval, int MaxFailures, int? EnforcingConsecutive5xx);

/// <summary>
/// Settings that shape a proxy beyond its upstreams, from <c>proxy-defaults</c> (global), the proxy's own
/// <c>Config</c> (wins) and the destination's <c>service-defaults</c> (protocol).
/// </summary>
public sealed record ProxySettings
{
    /// <summary>Nothing configured.</summary>
    public static readonly ProxySettings Default = new();

    /// <summary><c>bind_address</c>: overrides the public listener's address.</summary>
    public string? BindAddress { get; init; }

    /// <summary><c>bind_port</c>: overrides the public listener's port.</summary>
    public int? BindPort { get; init; }

    /// <summary><c>local_connect_timeout_ms</c> for <c>local_app</c> (default 5 s).</summary>
    public TimeSpan LocalConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>local_request_timeout_ms</c> for the public HTTP route, or null for Envoy's default.</summary>
    public TimeSpan? LocalRequestTimeout { get; init; }

    /// <summary><c>envoy_tracing_json</c>: an Envoy <c>Tracing</c> (bootstrap) object as JSON, or null.</summary>
    public string? TracingJson { get; init; }

    /// <summary><c>envoy_extra_static_clusters_json</c>: Envoy <c>Cluster</c> objects as JSON (one or a comma list), or null.</summary>
    public string? ExtraStaticClustersJson { get; init; }

    /// <summary><c>envoy_prometheus_bind_addr</c>: <c>host:port</c> of a listener serving <c>/metrics</c>, or null.</summary>
    public string? PrometheusBindAddress { get; init; }
}
