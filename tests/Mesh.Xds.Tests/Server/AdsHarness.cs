using System.Collections.Concurrent;
using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Rpc;
using Mesh.Xds.Cache;
using Mesh.Xds.Server;

namespace Mesh.Xds.Tests.Server;

/// <summary>An ADS server over a snapshot cache, with in-memory streams (channels) as the transport.</summary>
internal sealed class AdsHarness : IDisposable
{
    public const string NodeId = "web-sidecar-proxy";

    private readonly ObservedSource _observed;

    public AdsHarness(IResourceSource? source = null)
    {
        _observed = new ObservedSource(source ?? Cache);
        Server = new AdsServer(_observed, Logger);
    }

    /// <summary>
    /// Completes once some stream has finished handling <paramref name="snapshot"/>: it asks for the snapshot after it
    /// only when everything the snapshot made due was sent (or held).
    /// </summary>
    public Task HandledAsync(ResourceSnapshot snapshot) => _observed.HandledAsync(snapshot);

    public SnapshotCache Cache { get; } = new();

    public ListLogger<AdsServer> Logger { get; } = new();

    public AdsServer Server { get; }

    /// <summary>Opens a stream; <paramref name="queued"/> are in the request channel before the server reads it.</summary>
    public StreamClient<DiscoveryRequest, DiscoveryResponse> Sotw(Func<DiscoveryResponse, CancellationToken, ValueTask>? deliver = null,
        params DiscoveryRequest[] queued) =>
        new((requests, send, ct) => Server.StreamAggregatedResourcesAsync(requests, send, "127.0.0.1:50000", ct), deliver, queued);

    /// <summary>Opens an incremental stream; <paramref name="queued"/> are in the request channel before the server reads it.</summary>
    public StreamClient<DeltaDiscoveryRequest, DeltaDiscoveryResponse> Delta(params DeltaDiscoveryRequest[] queued) =>
        new((requests, send, ct) => Server.DeltaAggregatedResourcesAsync(requests, send, "127.0.0.1:50001", ct), null, queued);

    public static Node Node(string id = NodeId) => new() { Id = id, Cluster = "web" };

    /// <summary>A state-of-the-world request; the first one of a stream carries the node.</summary>
    public static DiscoveryRequest Request(string typeUrl, string[]? names = null, string nonce = "", string version = "", bool node = false,
        string? error = null)
    {
        var request = new DiscoveryRequest { TypeUrl = typeUrl, ResponseNonce = nonce, VersionInfo = version };
        if (names is not null) request.ResourceNames.AddRange(names);
        if (node) request.Node = Node();
        if (error is not null) request.ErrorDetail = new Status { Code = 3, Message = error };
        return request;
    }

    /// <summary>The ACK of <paramref name="response"/> with the subscription's names.</summary>
    public static DiscoveryRequest Ack(DiscoveryResponse response, params string[] names) =>
        Request(response.TypeUrl, names, response.Nonce, response.VersionInfo);

    /// <summary>The NACK of <paramref name="response"/>: the version is the one the client kept.</summary>
    public static DiscoveryRequest Nack(DiscoveryResponse response, string keptVersion, string error, params string[] names) =>
        Request(response.TypeUrl, names, response.Nonce, keptVersion, error: error);

    public static DeltaDiscoveryRequest DeltaRequest(string typeUrl, string[]? subscribe = null, string[]? unsubscribe = null, string nonce = "",
        bool node = false, Dictionary<string, string>? initial = null, string? error = null)
    {
        var request = new DeltaDiscoveryRequest { TypeUrl = typeUrl, ResponseNonce = nonce };
        if (subscribe is not null) request.ResourceNamesSubscribe.AddRange(subscribe);
        if (unsubscribe is not null) request.ResourceNamesUnsubscribe.AddRange(unsubscribe);
        if (node) request.Node = Node();
        if (initial is not null) request.InitialResourceVersions.Add(initial);
        if (error is not null) request.ErrorDetail = new Status { Code = 3, Message = error };
        return request;
    }

    public static DeltaDiscoveryRequest DeltaAck(DeltaDiscoveryResponse response) => DeltaRequest(response.TypeUrl, nonce: response.Nonce);

    public void Dispose() => Server.Dispose();
}

/// <summary>A source that tells when a stream asks for the snapshot after a given one.</summary>
internal sealed class ObservedSource(IResourceSource inner) : IResourceSource
{
    private readonly ConcurrentDictionary<ResourceSnapshot, TaskCompletionSource> _handled = new(ReferenceEqualityComparer.Instance);

    public Task HandledAsync(ResourceSnapshot snapshot) => Signal(snapshot).Task.WaitAsync(TimeSpan.FromSeconds(10));

    public IResourceSubscription Subscribe(Node node) => new Subscription(this, inner.Subscribe(node));

    private TaskCompletionSource Signal(ResourceSnapshot snapshot) =>
        _handled.GetOrAdd(snapshot, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private sealed class Subscription(ObservedSource source, IResourceSubscription inner) : IResourceSubscription
    {
        public ResourceSnapshot? Current => inner.Current;

        public Task<ResourceSnapshot> NextAsync(ResourceSnapshot? seen, CancellationToken cancellationToken)
        {
            if (seen is not null) source.Signal(seen).TrySetResult();
            return inner.NextAsync(seen, cancellationToken);
        }

        public void Dispose() => inner.Dispose();
    }
}

/// <summary>One in-memory stream: requests go in through a channel, responses come out through another.</summary>
internal sealed class StreamClient<TRequest, TResponse> : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly Channel<TRequest> _requests = Channel.CreateUnbounded<TRequest>();
    private readonly Channel<TResponse> _responses = Channel.CreateUnbounded<TResponse>();
    private readonly CancellationTokenSource _call = new();

    public StreamClient(Func<IAsyncEnumerable<TRequest>, Func<TResponse, CancellationToken, ValueTask>, CancellationToken, Task> start,
        Func<TResponse, CancellationToken, ValueTask>? deliver, TRequest[] queued)
    {
        foreach (var request in queued) Send(request);
        Func<TResponse, CancellationToken, ValueTask> send = deliver is null
            ? (response, ct) => _responses.Writer.WriteAsync(response, ct)
            : async (response, ct) =>
            {
                await deliver(response, ct);
                await _responses.Writer.WriteAsync(response, ct);
            };
        Completion = start(_requests.Reader.ReadAllAsync(), send, _call.Token);
    }

    /// <summary>The stream's handler task: completes on half-close, fails with the stream's error.</summary>
    public Task Completion { get; }

    public void Send(TRequest request) => Assert.True(_requests.Writer.TryWrite(request));

    public async Task<TResponse> ReceiveAsync() => await _responses.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

    /// <summary>Responses already delivered and not yet received.</summary>
    public int Pending => _responses.Reader.Count;

    public void HalfClose() => _requests.Writer.TryComplete();

    public void Cancel() => _call.Cancel();

    /// <summary>Waits for the handler to end and returns how it ended (null when it completed).</summary>
    public async Task<Exception?> EndAsync()
    {
        try
        {
            await Completion.WaitAsync(Timeout);
            return null;
        }
        catch (Exception e) when (e is not TimeoutException)
        {
            return e;
        }
    }

    public async ValueTask DisposeAsync()
    {
        HalfClose();
        _call.Cancel();
        try
        {
            await Completion.WaitAsync(Timeout);
        }
        catch (Exception)
        {
            // The test already asserted whatever it cared about.
        }
        _call.Dispose();
    }
}
