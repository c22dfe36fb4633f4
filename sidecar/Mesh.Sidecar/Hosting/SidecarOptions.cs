using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Tracing;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Hosting;

/// <summary>What <c>mesh connect proxy</c> runs with.</summary>
internal sealed record SidecarOptions
{
    /// <summary>The proxy's service ID on the local agent: the xDS node id.</summary>
    public required string ProxyId { get; init; }

    /// <summary>The proxy's service name (the xDS node cluster); the proxy ID when empty.</summary>
    public string ProxyService { get; init; } = "";

    /// <summary>The agent's gRPC address, <c>http://host:port</c> (h2c) or <c>https://host:port</c>.</summary>
    public required Uri AgentGrpcAddress { get; init; }

    /// <summary>A PEM file of CAs that verify the agent's gRPC certificate; null: the system trust store (for https).</summary>
    public string? AgentCaFile { get; init; }

    /// <summary>The ACL token sent to the agent; null: none.</summary>
    public string? Token { get; init; }

    /// <summary>Where the admin server (metrics, readiness, config dump) listens, <c>host:port</c>; port 0 picks a free one.</summary>
    public string AdminBind { get; init; } = "127.0.0.1:19000";

    /// <summary>How long shutdown waits for open connections and requests to finish.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The least severe log level written.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>
    /// Where the proxy's spans go (<c>-tracing-*</c> flags over the <c>OTEL_*</c> environment); null or no exporter:
    /// nowhere, and HTTP listeners trace only when xDS asks them to (<c>envoy_tracing_json</c>). With an exporter,
    /// every HTTP request gets a span; the spans still batched are sent when the proxy stops.
    /// </summary>
    public TracingOptions? Tracing { get; init; }

    /// <summary>The first delay before reconnecting to the agent (doubling up to <see cref="MaxReconnectBackoff"/>).</summary>
    public TimeSpan InitialReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest delay before reconnecting to the agent.</summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// What the data-plane components are built from. <see cref="State"/> is the <em>served</em> state: the accepted
/// xDS state with every listener that has not warmed yet (its secrets or RDS routes missing) left out, or kept at its
/// previous warmed version; connections and requests read it.
/// </summary>
/// <param name="Options">The proxy's options.</param>
/// <param name="State">The served state.</param>
/// <param name="Metrics">The proxy's metrics.</param>
/// <param name="LoggerFactory">Loggers.</param>
internal sealed record SidecarServices(SidecarOptions Options, StateHolder State, SidecarMetrics Metrics, ILoggerFactory LoggerFactory);
