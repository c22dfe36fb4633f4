namespace Mesh.Xds.Bootstrap;

/// <summary>
/// Everything an Envoy bootstrap is made from: who the proxy is, how it reaches the agent's xDS server, where its
/// admin API listens, and the optional settings from <c>proxy-defaults</c> and the proxy's own Config. Addresses
/// are IP literals: the bootstrap's clusters and listeners are STATIC, so names must be resolved beforehand.
/// </summary>
public sealed record BootstrapInput
{
    /// <summary>The proxy's service ID on the local agent; Envoy's <c>node.id</c>, by which the xDS server finds it.</summary>
    public required string ProxyId { get; init; }

    /// <summary>
    /// Envoy's <c>node.cluster</c>: the destination service's name for a sidecar, else the proxy's own service name.
    /// </summary>
    public required string ProxyCluster { get; init; }

    /// <summary>The service the proxy speaks for, for the <c>consul.source.service</c> stats tag; defaults to <see cref="ProxyCluster"/>.</summary>
    public string? ProxySourceService { get; init; }

    /// <summary>The datacenter the proxy is registered in (<c>consul.source.datacenter</c> stats tag).</summary>
    public required string Datacenter { get; init; }

    /// <summary>The agent's gRPC (xDS) IP address.</summary>
    public string AgentGrpcAddress { get; init; } = "127.0.0.1";

    /// <summary>The agent's gRPC (xDS) port.</summary>
    public int AgentGrpcPort { get; init; } = 8502;

    /// <summary>A Unix socket path for the agent's gRPC server; when set it replaces address and port.</summary>
    public string? AgentGrpcSocketPath { get; init; }

    /// <summary>Whether the agent's gRPC server speaks TLS.</summary>
    public bool AgentGrpcTls { get; init; }

    /// <summary>PEM of the CA(s) that sign the agent's gRPC certificate; required when <see cref="AgentGrpcTls"/> is on.</summary>
    public string? AgentCaPem { get; init; }

    /// <summary>The ACL token sent as <c>x-consul-token</c> on the ADS stream; none when null or empty.</summary>
    public string? Token { get; init; }

    /// <summary>The IP address Envoy's admin API binds.</summary>
    public string AdminBindAddress { get; init; } = "127.0.0.1";

    /// <summary>The port Envoy's admin API binds.</summary>
    public int AdminBindPort { get; init; } = 19000;

    /// <summary>Where the admin API's access log goes; <c>/dev/null</c> by default, as in Consul.</summary>
    public string AdminAccessLogPath { get; init; } = "/dev/null";

    /// <summary>The optional <c>envoy_*</c> settings.</summary>
    public BootstrapSettings Settings { get; init; } = BootstrapSettings.None;
}
