using System.Collections.Immutable;
using System.Net;
using System.Security.Authentication;

namespace Mesh.Sidecar.Config;

/// <summary>Which way a listener's traffic flows, from the proxy's point of view.</summary>
internal enum TrafficDirection { Inbound, Outbound }

/// <summary>
/// One listener from LDS, translated. Mesh emits one filter chain per listener; the chain's transport socket is
/// <see cref="Tls"/>, its filters are an optional network RBAC filter then a terminal <see cref="App"/>.
/// </summary>
/// <param name="Name">The listener's name (e.g. <c>public_listener:127.0.0.1:21000</c>).</param>
/// <param name="Address">Where it binds.</param>
/// <param name="Direction">Inbound (public listener) or outbound (an upstream's local listener).</param>
/// <param name="Tls">TLS termination for downstream connections; null for plain TCP.</param>
/// <param name="NetworkRbac">The network RBAC filter, checked once per connection; null when absent.</param>
/// <param name="App">The terminal network filter: a TCP proxy or an HTTP connection manager.</param>
internal sealed record ListenerConfig(
    string Name,
    IPEndPoint Address,
    TrafficDirection Direction,
    DownstreamTlsConfig? Tls,
    RbacConfig? NetworkRbac,
    ListenerApp App);

/// <summary>The terminal network filter of a listener.</summary>
internal abstract record ListenerApp(string StatPrefix);

/// <summary><c>envoy.filters.network.tcp_proxy</c>: every connection goes to one cluster (or a weighted choice).</summary>
/// <param name="StatPrefix">The filter's stat prefix, used as the metrics label.</param>
/// <param name="Cluster">The upstream cluster, when not weighted.</param>
/// <param name="WeightedClusters">A weighted choice per connection, instead of <paramref name="Cluster"/>.</param>
/// <param name="IdleTimeout">Close a connection idle this long in both directions; null: Envoy's default of 1 h; zero: never.</param>
internal sealed record TcpProxyConfig(
    string StatPrefix,
    string? Cluster,
    WeightedClusterSet? WeightedClusters,
    TimeSpan? IdleTimeout) : ListenerApp(StatPrefix);

/// <summary>How the HTTP connection manager speaks to downstream clients (<c>codec_type</c>).</summary>
internal enum HttpCodec { Auto, Http1, Http2 }

/// <summary><c>envoy.filters.network.http_connection_manager</c> with its HTTP filters (RBAC, then the router).</summary>
/// <param name="StatPrefix">The filter's stat prefix, used as the metrics label.</param>
/// <param name="Codec">Downstream protocol; <see cref="HttpCodec.Auto"/> takes HTTP/1.1 and HTTP/2 (h2c by preface, h2 by ALPN).</param>
/// <param name="InlineRoutes">A route configuration carried in the listener (the public listener's).</param>
/// <param name="RdsName">The RDS route configuration to use instead of <paramref name="InlineRoutes"/>.</param>
/// <param name="HttpRbac">The HTTP RBAC filter, checked per request; null when absent.</param>
/// <param name="Tracing">Tracing settings; null when the listener does not trace.</param>
/// <param name="ForwardClientCert">Append <c>x-forwarded-client-cert</c> with the peer's certificate details.</param>
internal sealed record HttpConnectionManagerConfig(
    string StatPrefix,
    HttpCodec Codec,
    RouteTableConfig? InlineRoutes,
    string? RdsName,
    RbacConfig? HttpRbac,
    TracingConfig? Tracing,
    bool ForwardClientCert) : ListenerApp(StatPrefix);

/// <summary>The listener's tracing settings (<c>HttpConnectionManager.tracing</c>).</summary>
/// <param name="SamplePercent">Random sampling percentage for requests that arrive without a sampling decision.</param>
/// <param name="ServiceName">The service name spans carry, from the tracer provider's config when it names one.</param>
internal sealed record TracingConfig(double SamplePercent, string? ServiceName);

/// <summary>A <c>DownstreamTlsContext</c>: the certificate and trust come from SDS secrets, looked up per handshake.</summary>
/// <param name="CertificateSecret">The SDS name of the serving certificate (Mesh: <c>leaf</c>).</param>
/// <param name="ValidationSecret">The SDS name of the trust bundle that verifies client certificates (Mesh: <c>roots</c>); null: no client verification.</param>
/// <param name="RequireClientCertificate">Refuse a handshake without a verified client certificate.</param>
/// <param name="Alpn">ALPN protocols offered, in preference order; empty: none.</param>
/// <param name="Protocols">Allowed TLS versions.</param>
internal sealed record DownstreamTlsConfig(
    string CertificateSecret,
    string? ValidationSecret,
    bool RequireClientCertificate,
    ImmutableArray<string> Alpn,
    SslProtocols Protocols);
