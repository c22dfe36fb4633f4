using System.Collections.Immutable;
using System.Net;
using System.Security.Authentication;

namespace Mesh.Sidecar.Config;

/// <summary>Where a cluster's endpoints come from.</summary>
internal enum ClusterKind
{
    /// <summary>Endpoints carried in the cluster (<c>load_assignment</c>), e.g. <c>local_app</c>.</summary>
    Static,
    /// <summary>Endpoints from EDS, by <see cref="ClusterConfig.EdsServiceName"/>.</summary>
    Eds,
    /// <summary><c>envoy.clusters.aggregate</c>: the first child cluster in order with a healthy endpoint serves (failover).</summary>
    Aggregate,
}

/// <summary>How a cluster picks an endpoint.</summary>
internal enum LbPolicy { RoundRobin, LeastRequest, Random, RingHash, Maglev }

/// <summary>The protocol a cluster speaks to its endpoints for HTTP traffic.</summary>
internal enum UpstreamProtocol { Http1, Http2 }

/// <summary>One cluster from CDS, translated.</summary>
/// <param name="Name">The cluster's name, as routes and TCP proxies refer to it.</param>
/// <param name="Kind">Static, EDS or aggregate.</param>
/// <param name="ConnectTimeout">Time allowed for TCP connect plus TLS handshake.</param>
/// <param name="LbPolicy">Endpoint selection.</param>
/// <param name="LeastRequestChoiceCount">Power-of-N choices for least-request (Envoy default 2).</param>
/// <param name="Tls">TLS to the endpoints; null for plain TCP (the local app).</param>
/// <param name="Protocol">HTTP/1.1 or HTTP/2 (h2 by ALPN over TLS, h2c prior knowledge without).</param>
/// <param name="EdsServiceName">The EDS resource name; for EDS clusters, defaults to the cluster name.</param>
/// <param name="StaticEndpoints">For static clusters, the endpoints.</param>
/// <param name="AggregateClusters">For aggregate clusters, the children in priority order.</param>
/// <param name="CircuitBreakers">Connection and request limits; null: Envoy's defaults (1,024 each).</param>
/// <param name="OutlierDetection">Passive ejection of failing endpoints; null: off.</param>
internal sealed record ClusterConfig(
    string Name,
    ClusterKind Kind,
    TimeSpan ConnectTimeout,
    LbPolicy LbPolicy,
    int LeastRequestChoiceCount,
    UpstreamTlsConfig? Tls,
    UpstreamProtocol Protocol,
    string? EdsServiceName,
    ImmutableArray<EndpointConfig> StaticEndpoints,
    ImmutableArray<string> AggregateClusters,
    CircuitBreakerConfig? CircuitBreakers,
    OutlierDetectionConfig? OutlierDetection);

/// <summary>An <c>UpstreamTlsContext</c>: client certificate and trust from SDS, plus what the peer must be.</summary>
/// <param name="CertificateSecret">SDS name of the client certificate (Mesh: <c>leaf</c>).</param>
/// <param name="ValidationSecret">SDS name of the trust bundle that verifies the peer (Mesh: <c>roots</c>).</param>
/// <param name="Sni">Server name sent in the handshake (Mesh: the target's SNI).</param>
/// <param name="ExpectedUriSans">The peer certificate must carry one of these URI SANs (SPIFFE ids); empty: any verified peer.</param>
/// <param name="Alpn">ALPN protocols to offer; empty: derived from the cluster's protocol.</param>
/// <param name="Protocols">Allowed TLS versions.</param>
internal sealed record UpstreamTlsConfig(
    string CertificateSecret,
    string? ValidationSecret,
    string? Sni,
    ImmutableArray<string> ExpectedUriSans,
    ImmutableArray<string> Alpn,
    SslProtocols Protocols);

/// <summary>Limits per cluster (the default-priority thresholds).</summary>
internal sealed record CircuitBreakerConfig(int MaxConnections, int MaxPendingRequests, int MaxRequests);

/// <summary>Passive health: eject an endpoint after consecutive 5xx/connect failures.</summary>
internal sealed record OutlierDetectionConfig(int Consecutive5xx, TimeSpan Interval, TimeSpan BaseEjectionTime, int MaxEjectionPercent);

/// <summary>An endpoint's health as EDS reports it.</summary>
internal enum EndpointHealth { Unknown, Healthy, Unhealthy, Draining, Timeout, Degraded }

/// <summary>One endpoint: an IP address and port with health, weight and priority.</summary>
internal sealed record EndpointConfig(IPEndPoint Address, EndpointHealth Health, int Weight, int Priority)
{
    /// <summary>Whether the endpoint may receive traffic (Envoy sends to HEALTHY and UNKNOWN, and DEGRADED last).</summary>
    public bool IsServing => Health is EndpointHealth.Healthy or EndpointHealth.Unknown or EndpointHealth.Degraded;
}

/// <summary>A <c>ClusterLoadAssignment</c> from EDS.</summary>
internal sealed record ClusterLoadAssignmentConfig(string ClusterName, ImmutableArray<EndpointConfig> Endpoints);
