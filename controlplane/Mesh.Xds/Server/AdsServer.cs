using Envoy.Service.Discovery.V3;
using Mesh.Xds.Cache;
using Microsoft.Extensions.Logging;

namespace Mesh.Xds.Server;

/// <summary>
/// The Aggregated Discovery Service: serves each proxy's resources from an <see cref="IResourceSource"/> over
/// state-of-the-world (<see cref="StreamAggregatedResourcesAsync"/>) and incremental
/// (<see cref="DeltaAggregatedResourcesAsync"/>) streams. Transport-free: the gRPC layer hands each call's request
/// sequence and a send delegate to one of the two entry points and maps <see cref="XdsStreamException"/> to the call's
/// status.
/// </summary>
/// <remarks>
/// The server keeps nonces, subscriptions and ACK state per stream; versions and change notification are the source's.
/// Every stream's state lives only as long as its call.
/// </remarks>
internal sealed partial class AdsServer : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Creates the server.</summary>
    /// <param name="source">Where each proxy's snapshots come from.</param>
    /// <param name="logger">For stream lifecycle and NACKs.</param>
    /// <param name="counters">The counters to update; a new set when null.</param>
    public AdsServer(IResourceSource source, ILogger<AdsServer> logger, XdsCounters? counters = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(logger);
        Source = source;
        Logger = logger;
        Counters = counters ?? new XdsCounters();
    }

    /// <summary>Streams open, responses, ACKs and NACKs by type.</summary>
    public XdsCounters Counters { get; }

    internal IResourceSource Source { get; }

    internal ILogger Logger { get; }

    /// <summary>Cancelled by <see cref="Shutdown"/>.</summary>
    internal CancellationToken StoppingToken => _stopping.Token;

    /// <summary>
    /// Serves one state-of-the-world ADS stream (<c>StreamAggregatedResources</c>) until the client half-closes
    /// (completes), the call is cancelled (<see cref="OperationCanceledException"/>), or the stream fails
    /// (<see cref="XdsStreamException"/>: INVALID_ARGUMENT for a bad request, UNAVAILABLE on shutdown, INTERNAL for a
    /// fault, or whatever the source threw).
    /// </summary>
    /// <param name="requests">The client's requests, in order.</param>
    /// <param name="send">Writes one response; never called concurrently for one stream.</param>
    /// <param name="peer">The client's address, for logs.</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    public Task StreamAggregatedResourcesAsync(IAsyncEnumerable<DiscoveryRequest> requests,
        Func<DiscoveryResponse, CancellationToken, ValueTask> send, string peer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(send);
        return new SotwStream(this, send, peer ?? "").RunAsync(requests, cancellationToken);
    }

    /// <summary>
    /// Serves one incremental ADS stream (<c>DeltaAggregatedResources</c>); ends as
    /// <see cref="StreamAggregatedResourcesAsync"/> does.
    /// </summary>
    /// <param name="requests">The client's requests, in order.</param>
    /// <param name="send">Writes one response; never called concurrently for one stream.</param>
    /// <param name="peer">The client's address, for logs.</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    public Task DeltaAggregatedResourcesAsync(IAsyncEnumerable<DeltaDiscoveryRequest> requests,
        Func<DeltaDiscoveryResponse, CancellationToken, ValueTask> send, string peer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(send);
        return new DeltaStream(this, send, peer ?? "").RunAsync(requests, cancellationToken);
    }

    /// <summary>Ends every stream, open or future, with UNAVAILABLE so that proxies reconnect elsewhere.</summary>
    public void Shutdown() => _stopping.Cancel();

    /// <summary>
    /// Shuts down. The cancellation source is deliberately not disposed: streams still ending (and any that arrive
    /// late) read its token, and a source that never handed out a wait handle holds nothing to release.
    /// </summary>
    public void Dispose() => Shutdown();
}
