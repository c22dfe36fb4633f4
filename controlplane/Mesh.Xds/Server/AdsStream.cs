using System.Globalization;
using Envoy.Config.Core.V3;
using Mesh.Xds.Cache;
using Microsoft.Extensions.Logging;

namespace Mesh.Xds.Server;

/// <summary>
/// What both protocols share: the first request's node, the proxy's subscription, and one loop that waits for either
/// the next request or the next snapshot. A stream owns no thread and no timer: between events it is two pending tasks
/// (the transport's read and the subscription's shared change signal), and it handles one event at a time, so its
/// state needs no lock and its sends never overlap.
/// </summary>
/// <typeparam name="TRequest">The protocol's request message.</typeparam>
/// <typeparam name="TResponse">The protocol's response message.</typeparam>
internal abstract class AdsStream<TRequest, TResponse> where TRequest : class
{
    private readonly Func<TResponse, CancellationToken, ValueTask> _send;
    private long _nonce;

    protected AdsStream(AdsServer server, Func<TResponse, CancellationToken, ValueTask> send, string peer)
    {
        Server = server;
        _send = send;
        Peer = peer;
    }

    /// <summary>The server the stream belongs to (source, counters, logger).</summary>
    protected AdsServer Server { get; }

    /// <summary>The remote address, for logs.</summary>
    protected string Peer { get; }

    /// <summary>The node id of the first request ("" until it arrives).</summary>
    protected string NodeId { get; private set; } = "";

    /// <summary>The newest snapshot the stream has read, or null before the first.</summary>
    protected ResourceSnapshot? Snapshot { get; private set; }

    /// <summary>"sotw" or "delta", for logs.</summary>
    protected abstract string Protocol { get; }

    /// <summary>Whether this is an incremental stream (for the counters).</summary>
    protected abstract bool IsDelta { get; }

    /// <summary>The node a request carries, or null.</summary>
    protected abstract Node? NodeOf(TRequest request);

    /// <summary>Applies one request (subscription change, ACK, NACK), then sends whatever became due.</summary>
    protected abstract ValueTask HandleRequestAsync(TRequest request, CancellationToken cancellationToken);

    /// <summary>Sends whatever a new snapshot made due.</summary>
    protected abstract ValueTask HandleSnapshotAsync(CancellationToken cancellationToken);

    /// <summary>A nonce not used before on this stream.</summary>
    /// <summary>Where clusters and endpoints sit in <see cref="TypeUrls.Ordered"/> (both protocols resend endpoints after clusters).</summary>
    protected static readonly int ClusterIndex = TypeUrls.IndexOf(TypeUrls.Cluster);

    /// <summary>See <see cref="ClusterIndex"/>.</summary>
    protected static readonly int EndpointIndex = TypeUrls.IndexOf(TypeUrls.Endpoint);

    /// <summary>
    /// The index of a request's type in <see cref="TypeUrls.Ordered"/>, or -1 for a type Mesh does not serve: not an
    /// error, since a client may ask for a type it can live without; it simply gets nothing (logged at debug).
    /// </summary>
    /// <exception cref="XdsStreamException">INVALID_ARGUMENT: the request has no type URL.</exception>
    protected int TypeIndexOf(string typeUrl)
    {
        if (string.IsNullOrEmpty(typeUrl))
            throw new XdsStreamException(XdsStatusCode.InvalidArgument, "an ADS request must carry type_url");
        var index = TypeUrls.IndexOf(typeUrl);
        if (index < 0) AdsServer.LogUnsupportedType(Server.Logger, NodeId, typeUrl);
        return index;
    }

    /// <summary>
    /// Takes a client's answer to a type's response: an ACK (no <paramref name="error"/>) records the version as accepted,
    /// a NACK is logged with the client's error and counted, and either frees the type for its next response. Only the
    /// first answer to the latest response counts; an older nonce is stale and ignored (the client answers the newest
    /// response too).
    /// </summary>
    /// <returns>False for a stale nonce.</returns>
    protected bool Answer(TypeDelivery state, int index, string typeUrl, string nonce, Google.Rpc.Status? error)
    {
        if (nonce != state.SentNonce)
        {
            AdsServer.LogStaleNonce(Server.Logger, NodeId, TypeUrls.ShortName(typeUrl), nonce);
            return false;
        }
        if (nonce == state.AnsweredNonce) return true;
        state.AnsweredNonce = nonce;
        state.AwaitingAnswer = false;
        if (error is not null)
        {
            // NACK: the client keeps its last good config, and so does the server: nothing is resent or rolled back;
            // the type goes out again when a newer version exists.
            Server.Counters.Nack(index);
            AdsServer.LogNack(Server.Logger, NodeId, TypeUrls.ShortName(typeUrl), state.SentVersion ?? "", state.AckedVersion ?? "none",
                error.Message);
        }
        else
        {
            Server.Counters.Ack(index);
            state.AckedVersion = state.SentVersion;
        }
        return true;
    }

    /// <summary>Where one type's responses stand on a stream, in both protocols: what was sent, answered and accepted.</summary>
    protected class TypeDelivery
    {
        /// <summary>The version of the last response (<c>version_info</c>, or <c>system_version_info</c>), or null before the first.</summary>
        public string? SentVersion { get; set; }

        /// <summary>The nonce of the last response; answers with any other nonce are stale.</summary>
        public string? SentNonce { get; set; }

        /// <summary>The last response's nonce once the client answered it (one ACK or NACK counted per response).</summary>
        public string? AnsweredNonce { get; set; }

        /// <summary>The version the client last accepted.</summary>
        public string? AckedVersion { get; set; }

        /// <summary>Whether the last response is still unanswered (one response in flight per type).</summary>
        public bool AwaitingAnswer { get; set; }

        /// <summary>Whether the subscription changed, so the type must go out (or be compared) again even at the same version.</summary>
        public bool Resend { get; set; }
    }

    protected string NextNonce() => (++_nonce).ToString(CultureInfo.InvariantCulture);

    /// <summary>Sends one response and counts it.</summary>
    protected ValueTask SendAsync(TResponse response, int typeIndex, CancellationToken cancellationToken)
    {
        Server.Counters.ResponseSent(typeIndex);
        return _send(response, cancellationToken);
    }

    /// <summary>
    /// Serves the stream until the client half-closes (returns), the call is cancelled (throws
    /// <see cref="OperationCanceledException"/>), the server shuts down (UNAVAILABLE) or something fails
    /// (<see cref="XdsStreamException"/>). The subscription is always disposed.
    /// </summary>
    public async Task RunAsync(IAsyncEnumerable<TRequest> requests, CancellationToken callToken)
    {
        var stopping = Server.StoppingToken;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, stopping);
        var cancellationToken = linked.Token;
        var enumerator = requests.GetAsyncEnumerator(cancellationToken);
        Task<bool>? pendingRead = null;
        IResourceSubscription? subscription = null;
        Server.Counters.StreamOpened(IsDelta);
        try
        {
            if (stopping.IsCancellationRequested) throw new OperationCanceledException(stopping);
            pendingRead = enumerator.MoveNextAsync().AsTask();
            // WaitAsync: a transport that ignores the token must not keep a shutdown waiting for a first request.
            var any = await pendingRead.WaitAsync(cancellationToken).ConfigureAwait(false);
            pendingRead = null;
            if (!any)
            {
                AdsServer.LogClosed(Server.Logger, Protocol, Peer, NodeId, "client closed before its first request");
                return;
            }
            var first = enumerator.Current;
            var node = NodeOf(first) ?? throw new XdsStreamException(XdsStatusCode.InvalidArgument, "the first request of a stream must carry node");
            if (string.IsNullOrEmpty(node.Id)) throw new XdsStreamException(XdsStatusCode.InvalidArgument, "the first request's node has no id");
            NodeId = node.Id;
            subscription = Server.Source.Subscribe(node)
                ?? throw new InvalidOperationException("the resource source returned no subscription");
            AdsServer.LogOpened(Server.Logger, Protocol, Peer, NodeId);
            Snapshot = subscription.Current;
            await HandleRequestAsync(first, cancellationToken).ConfigureAwait(false);

            Task<ResourceSnapshot>? nextSnapshot = null;
            while (true)
            {
                nextSnapshot ??= subscription.NextAsync(Snapshot, cancellationToken);
                pendingRead ??= enumerator.MoveNextAsync().AsTask();
                if (!pendingRead.IsCompleted && !nextSnapshot.IsCompleted)
                    await Task.WhenAny(pendingRead, nextSnapshot).ConfigureAwait(false);

                // A request first: it may be the ACK that lets a held type go out with the new snapshot.
                if (pendingRead.IsCompleted)
                {
                    var more = await pendingRead.ConfigureAwait(false);
                    pendingRead = null;
                    if (!more)
                    {
                        AdsServer.LogClosed(Server.Logger, Protocol, Peer, NodeId, "client half-closed");
                        return;
                    }
                    await HandleRequestAsync(enumerator.Current, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    Snapshot = await nextSnapshot.ConfigureAwait(false);
                    nextSnapshot = null;
                    await HandleSnapshotAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (XdsStreamException e)
        {
            Server.Counters.StreamFailed();
            AdsServer.LogRefused(Server.Logger, Protocol, Peer, NodeId, e.StatusCode, e.Message);
            throw;
        }
        catch (Exception) when (callToken.IsCancellationRequested)
        {
            // The client went away; whatever failed on the way out (a send, a read) is a consequence, not an error.
            AdsServer.LogClosed(Server.Logger, Protocol, Peer, NodeId, "call cancelled");
            throw new OperationCanceledException(callToken);
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            Server.Counters.StreamFailed();
            AdsServer.LogClosed(Server.Logger, Protocol, Peer, NodeId, "server shutting down");
            throw new XdsStreamException(XdsStatusCode.Unavailable, "the xDS server is shutting down");
        }
        catch (Exception e)
        {
            Server.Counters.StreamFailed();
            AdsServer.LogFailed(Server.Logger, Protocol, Peer, NodeId, e);
            throw new XdsStreamException(XdsStatusCode.Internal, "the xDS server failed to serve the stream", e);
        }
        finally
        {
            // Cancelling ends the pending snapshot wait, which takes its continuation off the node's shared change
            // signal (a node that never changes again must not collect the waits of streams long gone), and tells the
            // transport's reader to stop.
            CancelQuietly(linked);
            subscription?.Dispose();
            Server.Counters.StreamClosed(IsDelta);
            await ReleaseAsync(enumerator, pendingRead).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Disposes the request enumerator. An enumerator must not be disposed while a read is pending, so when the stream
    /// ends with one outstanding (cancellation, shutdown, an error) the disposal waits for that read in the background
    /// instead of holding up the end of the stream.
    /// </summary>
    private static async ValueTask ReleaseAsync(IAsyncEnumerator<TRequest> enumerator, Task<bool>? pendingRead)
    {
        if (pendingRead is null || pendingRead.IsCompleted)
        {
            await DisposeQuietlyAsync(enumerator).ConfigureAwait(false);
            return;
        }
        _ = pendingRead.ContinueWith(
            static (read, state) =>
            {
                _ = read.Exception; // observed: a read that failed after the stream ended is not news
                return DisposeQuietlyAsync((IAsyncEnumerator<TRequest>)state!).AsTask();
            },
            enumerator, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
    }

    private static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (AggregateException)
        {
            // A transport's cancellation callback threw; the stream is ending either way.
        }
    }

    private static async ValueTask DisposeQuietlyAsync(IAsyncEnumerator<TRequest> enumerator)
    {
        try
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The stream is over; a transport that fails to clean up its reader has nothing left to tell it.
        }
    }
}
