using System.Net;
using Mesh.Sidecar.Config;

namespace Mesh.Sidecar.Upstreams;

/// <summary>What load balancing may use from the request or connection.</summary>
/// <param name="Hash">The request hash for ring-hash/maglev clusters; null: no hash policy applied (pick at random).</param>
/// <param name="Exclude">An endpoint to avoid when another serves (a retry's previous attempt); null: none.</param>
internal readonly record struct LbContext(ulong? Hash = null, IPEndPoint? Exclude = null);

/// <summary>
/// One endpoint chosen for one request or connection. Holds the endpoint's active-request count up until disposed,
/// which least-request balancing reads; report the outcome so outlier detection can eject a failing endpoint.
/// </summary>
internal interface IEndpointLease : IDisposable
{
    /// <summary>The cluster that served the pick (for an aggregate cluster, the child that had a serving endpoint).</summary>
    ClusterConfig Cluster { get; }

    /// <summary>The endpoint.</summary>
    EndpointConfig Endpoint { get; }

    /// <summary>Records that the attempt failed (connect failure, reset or 5xx) or succeeded.</summary>
    void Report(bool success);
}

/// <summary>A connection to an upstream endpoint, TLS established when the cluster uses TLS.</summary>
/// <param name="Stream">The (TLS) stream.</param>
/// <param name="NegotiatedProtocol">The ALPN protocol agreed (<c>h2</c>, <c>http/1.1</c>), or null.</param>
internal sealed record UpstreamConnection(Stream Stream, string? NegotiatedProtocol);

/// <summary>
/// The clusters of the current state with their endpoints and load balancers; one per proxy. Runtime state
/// (least-request counts, round-robin positions, ejections) survives configuration updates of the same cluster.
/// </summary>
internal interface IClusterManager
{
    /// <summary>The cluster's current configuration, or null when no such cluster exists.</summary>
    ClusterConfig? Find(string cluster);

    /// <summary>
    /// Picks a serving endpoint of <paramref name="cluster"/> (following aggregate failover), or returns null when
    /// the cluster is unknown or has none.
    /// </summary>
    IEndpointLease? Pick(string cluster, in LbContext context);

    /// <summary>
    /// Picks from <paramref name="cluster"/> as it is in <paramref name="state"/>: the state a request was routed
    /// with, so a request routed just before an update that removes its cluster still finds it.
    /// </summary>
    IEndpointLease? Pick(SidecarState state, string cluster, in LbContext context) => Pick(cluster, context);

    /// <summary>
    /// Opens a TCP connection to the lease's endpoint within the cluster's connect timeout and, for a TLS cluster,
    /// completes the handshake with the current leaf, the cluster's SNI and ALPN, verifying the peer against the
    /// current roots and the expected SPIFFE ids.
    /// </summary>
    /// <exception cref="UpstreamConnectException">Connect, timeout, handshake or peer verification failed.</exception>
    ValueTask<UpstreamConnection> ConnectAsync(IEndpointLease lease, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="ConnectAsync(IEndpointLease, CancellationToken)"/>, offering <paramref name="alpn"/> in the TLS
    /// handshake instead of the cluster's protocols: an empty list offers none (a TCP proxy carries opaque bytes),
    /// null keeps the cluster's choice.
    /// </summary>
    ValueTask<UpstreamConnection> ConnectAsync(IEndpointLease lease, IReadOnlyList<string>? alpn, CancellationToken cancellationToken) =>
        ConnectAsync(lease, cancellationToken);
}

/// <summary>An upstream connection could not be established; the message says how (refused, timeout, TLS, identity).</summary>
internal sealed class UpstreamConnectException(string message, Exception? inner = null) : Exception(message, inner);
