namespace Mesh.Sidecar.Observability;

/// <summary>
/// The proxy's metrics, served at <c>/metrics</c> on the admin address. Labels are the listener's stat prefix, the
/// cluster name, the response code and the xDS type; the families are created once, children on first use.
/// </summary>
internal sealed class SidecarMetrics
{
    /// <summary>Latency buckets in seconds: 100 µs to 30 s.</summary>
    private static readonly double[] LatencyBounds =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    public SidecarMetrics(MetricRegistry? registry = null)
    {
        Registry = registry ?? new MetricRegistry();
        ConnectionsActive = Registry.Gauge("mesh_sidecar_downstream_connections_active", "Open downstream connections.", "listener");
        ConnectionsTotal = Registry.Counter("mesh_sidecar_downstream_connections_total", "Downstream connections accepted.", "listener");
        TlsFailures = Registry.Counter("mesh_sidecar_downstream_tls_failures_total", "Downstream TLS handshakes refused or failed.", "listener");
        BytesReceived = Registry.Counter("mesh_sidecar_downstream_bytes_received_total", "Bytes read from downstream clients.", "listener");
        BytesSent = Registry.Counter("mesh_sidecar_downstream_bytes_sent_total", "Bytes written to downstream clients.", "listener");
        RbacDenied = Registry.Counter("mesh_sidecar_rbac_denied_total", "Connections or requests denied by RBAC (intentions).", "listener");
        RbacAllowed = Registry.Counter("mesh_sidecar_rbac_allowed_total", "Connections or requests allowed by RBAC (intentions).", "listener");
        Requests = Registry.Counter("mesh_sidecar_http_requests_total", "HTTP requests completed, by response code.", "listener", "cluster", "code");
        UpstreamLatency = Registry.Histogram("mesh_sidecar_upstream_request_duration_seconds", "Time from sending a request upstream to its response headers.", LatencyBounds, "cluster");
        UpstreamConnectFailures = Registry.Counter("mesh_sidecar_upstream_connect_failures_total", "Upstream connects or TLS handshakes that failed.", "cluster");
        UpstreamConnections = Registry.Counter("mesh_sidecar_upstream_connections_total", "Upstream connections opened.", "cluster");
        UpstreamRetries = Registry.Counter("mesh_sidecar_upstream_retries_total", "Requests retried on another attempt.", "cluster");
        NoHealthyUpstream = Registry.Counter("mesh_sidecar_upstream_no_healthy_total", "Requests or connections with no serving endpoint in the cluster.", "cluster");
        UpstreamOverflow = Registry.Counter("mesh_sidecar_upstream_overflow_total", "Requests or connections refused because the cluster's circuit breaker (max requests) was open.", "cluster");
        OutlierEjections = Registry.Counter("mesh_sidecar_upstream_outlier_ejections_total", "Endpoints ejected by outlier detection.", "cluster");
        XdsUpdates = Registry.Counter("mesh_sidecar_xds_updates_total", "xDS responses accepted (ACKed), by type.", "type");
        XdsRejected = Registry.Counter("mesh_sidecar_xds_rejected_total", "xDS responses rejected (NACKed), by type.", "type");
        XdsConnected = Registry.Gauge("mesh_sidecar_xds_connected", "1 while the ADS stream to the agent is up.");
    }

    /// <summary>The registry behind the families, written at <c>/metrics</c>.</summary>
    public MetricRegistry Registry { get; }

    public MetricFamily<Gauge> ConnectionsActive { get; }
    public MetricFamily<Counter> ConnectionsTotal { get; }
    public MetricFamily<Counter> TlsFailures { get; }
    public MetricFamily<Counter> BytesReceived { get; }
    public MetricFamily<Counter> BytesSent { get; }
    public MetricFamily<Counter> RbacDenied { get; }
    public MetricFamily<Counter> RbacAllowed { get; }
    public MetricFamily<Counter> Requests { get; }
    public MetricFamily<Histogram> UpstreamLatency { get; }
    public MetricFamily<Counter> UpstreamConnectFailures { get; }
    public MetricFamily<Counter> UpstreamConnections { get; }
    public MetricFamily<Counter> UpstreamRetries { get; }
    public MetricFamily<Counter> NoHealthyUpstream { get; }
    public MetricFamily<Counter> UpstreamOverflow { get; }
    public MetricFamily<Counter> OutlierEjections { get; }
    public MetricFamily<Counter> XdsUpdates { get; }
    public MetricFamily<Counter> XdsRejected { get; }
    public MetricFamily<Gauge> XdsConnected { get; }
}
