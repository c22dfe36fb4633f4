using System.Collections.Concurrent;
using System.Net;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Upstreams;

namespace Mesh.Sidecar.Http;

/// <summary>
/// One <see cref="HttpMessageInvoker"/> over a <see cref="SocketsHttpHandler"/> per cluster. The handler pools
/// connections per request authority, which the proxy sets to the chosen endpoint, so HTTP/2 multiplexes per
/// endpoint and every request is balanced on its own. Connections are opened by the cluster manager (TCP plus TLS with
/// the cluster's SNI, ALPN and peer verification), so the handler always speaks "plain" <c>http</c> over the stream
/// it is given. A cluster whose configuration instance changes gets a new invoker at once; the old one is disposed
/// when the last request that holds it finishes, so in-flight requests complete on the connections they started on.
/// </summary>
internal sealed class ForwarderPool(IClusterManager clusters) : IDisposable
{
    /// <summary>The request option carrying the endpoint lease to the handler's connect callback.</summary>
    public static readonly HttpRequestOptionsKey<IEndpointLease> LeaseKey = new("Mesh.Sidecar.Lease");

    private readonly ConcurrentDictionary<string, Forwarder> _forwarders = new(StringComparer.Ordinal);
    private SidecarState? _prunedFor;
    private bool _disposed;

    /// <summary>
    /// The invoker for <paramref name="cluster"/>, held until the returned forwarder is released. Creates or replaces
    /// it when the configuration instance differs from the one it was built for.
    /// </summary>
    public Forwarder Acquire(ClusterConfig cluster)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            if (_forwarders.TryGetValue(cluster.Name, out var existing))
            {
                if (ReferenceEquals(existing.Config, cluster) && existing.TryAcquire()) return existing;
                var replacement = new Forwarder(cluster, CreateInvoker(cluster));
                if (_forwarders.TryUpdate(cluster.Name, replacement, existing))
                {
                    existing.Release();
                    if (replacement.TryAcquire()) return replacement;
                }
                else
                {
                    replacement.Release();
                }
            }
            else
            {
                var created = new Forwarder(cluster, CreateInvoker(cluster));
                if (_forwarders.TryAdd(cluster.Name, created))
                {
                    if (created.TryAcquire()) return created;
                }
                else
                {
                    created.Release();
                }
            }
        }
    }

    /// <summary>Retires invokers of clusters that <paramref name="state"/> no longer has; cheap when the state is unchanged.</summary>
    public void Prune(SidecarState state)
    {
        if (ReferenceEquals(Volatile.Read(ref _prunedFor), state)) return;
        Volatile.Write(ref _prunedFor, state);
        foreach (var (name, forwarder) in _forwarders)
        {
            if (!state.Clusters.ContainsKey(name) && _forwarders.TryRemove(new KeyValuePair<string, Forwarder>(name, forwarder)))
            {
                forwarder.Release();
            }
        }
    }

    /// <summary>The number of live invokers (for tests).</summary>
    internal int Count => _forwarders.Count;

    public void Dispose()
    {
        _disposed = true;
        foreach (var name in _forwarders.Keys)
        {
            if (_forwarders.TryRemove(name, out var forwarder)) forwarder.Release();
        }
    }

    private HttpMessageInvoker CreateInvoker(ClusterConfig cluster)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            // The proxy propagates trace context itself (traceparent and B3); the handler must not add its own.
            ActivityHeadersPropagator = null,
            // The cluster manager enforces the cluster's connect timeout with a precise error; the handler's own limit
            // only backs it up, a little later, so that error is the one that surfaces.
            ConnectTimeout = cluster.ConnectTimeout > TimeSpan.Zero ? cluster.ConnectTimeout + TimeSpan.FromSeconds(1) : Timeout.InfiniteTimeSpan,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            // Envoy's max_connections is per cluster; the handler can only cap per endpoint (and queues rather than
            // failing fast), which bounds the same resource for the common single-endpoint local_app cluster.
            MaxConnectionsPerServer = cluster.CircuitBreakers is { MaxConnections: > 0 } limits ? limits.MaxConnections : int.MaxValue,
            ConnectCallback = ConnectAsync,
        };

        return new HttpMessageInvoker(handler, disposeHandler: true);
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (!context.InitialRequestMessage.Options.TryGetValue(LeaseKey, out var lease))
        {
            throw new InvalidOperationException("upstream request without an endpoint lease");
        }

        var connection = await clusters.ConnectAsync(lease, cancellationToken).ConfigureAwait(false);
        return connection.Stream;
    }

    /// <summary>An invoker with a reference count: the pool's own reference plus one per request using it.</summary>
    internal sealed class Forwarder(ClusterConfig config, HttpMessageInvoker invoker)
    {
        private int _references = 1;

        /// <summary>The configuration the invoker was built for.</summary>
        public ClusterConfig Config { get; } = config;

        /// <summary>The invoker.</summary>
        public HttpMessageInvoker Invoker { get; } = invoker;

        /// <summary>Takes a reference unless the forwarder is already retired and idle.</summary>
        public bool TryAcquire()
        {
            while (true)
            {
                var current = Volatile.Read(ref _references);
                if (current == 0) return false;
                if (Interlocked.CompareExchange(ref _references, current + 1, current) == current) return true;
            }
        }

        /// <summary>Drops a reference; the last one disposes the invoker and its connections.</summary>
        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0) Invoker.Dispose();
        }
    }
}
