using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Tls;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Upstreams;

/// <summary>
/// Picks endpoints and opens upstream connections for the clusters of the current state. Each cluster has a
/// <see cref="ClusterRuntime"/> keyed by name and rebuilt when its configuration record or its endpoint assignment
/// changes (by reference: the xDS client publishes new records only for what changed); per-endpoint counters carry
/// over by address. A pick reads the current state and the runtime without locks.
/// </summary>
/// <remarks>
/// Circuit breaking: when a cluster already has its maximum of requests in flight (its circuit breaker's
/// <c>max_requests</c>, Envoy's 1,024 by default), <see cref="Pick(string, in LbContext)"/> returns null as for a cluster without a serving
/// endpoint, and counts the refusal in <c>mesh_sidecar_upstream_overflow_total</c> so the two can be told apart.
/// </remarks>
internal sealed partial class ClusterManager : IClusterManager
{
    private readonly StateHolder _state;
    private readonly SidecarMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, ClusterRuntime> _runtimes = new(StringComparer.Ordinal);
    private readonly Lock _rebuild = new();
    private SidecarState? _pruned;

    public ClusterManager(StateHolder state, SidecarMetrics metrics, ILogger<ClusterManager>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(metrics);
        _state = state;
        _metrics = metrics;
        _logger = logger ?? NullLogger<ClusterManager>.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public ClusterConfig? Find(string cluster) => _state.Current.Clusters.GetValueOrDefault(cluster);

    /// <inheritdoc />
    public IEndpointLease? Pick(string cluster, in LbContext context) => Pick(_state.Current, cluster, context);

    /// <inheritdoc />
    public IEndpointLease? Pick(SidecarState state, string cluster, in LbContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        // Runtimes follow the current state; a request routed with an older one may briefly use a cluster the
        // current state dropped, whose runtime is then rebuilt for it.
        var current = _state.Current;
        if (!ReferenceEquals(Volatile.Read(ref _pruned), current)) Prune(current);
        if (!state.Clusters.TryGetValue(cluster, out var config)) return null;
        if (config.Kind != ClusterKind.Aggregate) return PickIn(Runtime(config, state), context);

        // Failover: the first child, in order, that has a serving endpoint takes the traffic.
        foreach (var childName in config.AggregateClusters)
        {
            if (!state.Clusters.TryGetValue(childName, out var child) || child.Kind == ClusterKind.Aggregate) continue;
            var runtime = Runtime(child, state);
            if (runtime.Levels.Length == 0) continue;
            return PickIn(runtime, context);
        }

        return null;
    }

    /// <inheritdoc />
    public ValueTask<UpstreamConnection> ConnectAsync(IEndpointLease lease, CancellationToken cancellationToken) =>
        ConnectAsync(lease, null, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<UpstreamConnection> ConnectAsync(IEndpointLease lease, IReadOnlyList<string>? alpn, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var cluster = lease.Cluster;
        var address = lease.Endpoint.Address;
        var runtime = (lease as EndpointLease)?.Runtime ?? Runtime(cluster, _state.Current);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (cluster.ConnectTimeout > TimeSpan.Zero) deadline.CancelAfter(cluster.ConnectTimeout);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        string? step = null;
        try
        {
            step = "connect";
            await socket.ConnectAsync(address, deadline.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (cluster.Tls is null)
            {
                runtime.Connections.Inc();
                return new UpstreamConnection(stream, null);
            }

            step = "TLS handshake";
            SslClientAuthenticationOptions options;
            UpstreamTls.PeerCheck check;
            try
            {
                options = UpstreamTls.CreateOptions(cluster, _state.Current, alpn, out check);
            }
            catch (AuthenticationException ex)
            {
                throw Fail(runtime, $"cluster {cluster.Name}: cannot connect to {address}: {ex.Message}", null);
            }

            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            stream = ssl;
            try
            {
                await ssl.AuthenticateAsClientAsync(options, deadline.Token).ConfigureAwait(false);
            }
            catch (AuthenticationException ex)
            {
                throw Fail(runtime, $"cluster {cluster.Name}: TLS handshake with {address} (SNI {options.TargetHost}) failed: {check.Failure ?? ex.Message}", ex);
            }

            runtime.Connections.Inc();
            var negotiated = ssl.NegotiatedApplicationProtocol;
            return new UpstreamConnection(ssl, negotiated.Protocol.IsEmpty ? null : negotiated.ToString());
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            await DisposeQuietly(stream, socket).ConfigureAwait(false);
            throw Fail(runtime, $"cluster {cluster.Name}: {step} to {address} timed out after {cluster.ConnectTimeout.TotalMilliseconds:0} ms", ex);
        }
        catch (SocketException ex)
        {
            await DisposeQuietly(stream, socket).ConfigureAwait(false);
            throw Fail(runtime, $"cluster {cluster.Name}: connect to {address} failed: {Describe(ex.SocketErrorCode)}", ex);
        }
        catch (IOException ex)
        {
            await DisposeQuietly(stream, socket).ConfigureAwait(false);
            throw Fail(runtime, $"cluster {cluster.Name}: {step} with {address} failed: {ex.Message}", ex);
        }
        catch (UpstreamConnectException)
        {
            await DisposeQuietly(stream, socket).ConfigureAwait(false);
            throw;
        }
        catch (OperationCanceledException)
        {
            await DisposeQuietly(stream, socket).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex)
        {
            // Anything else (a certificate the platform cannot load, say) still frees the socket and is a failed connect.
            await DisposeQuietly(stream, socket).ConfigureAwait(false);
            throw Fail(runtime, $"cluster {cluster.Name}: {step} with {address} failed: {ex.Message}", ex);
        }
    }

    private UpstreamConnectException Fail(ClusterRuntime runtime, string message, Exception? inner)
    {
        runtime.ConnectFailures.Inc();
        Log.ConnectFailed(_logger, message);
        return new UpstreamConnectException(message, inner);
    }

    private static string Describe(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.TimedOut => "timed out",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.ConnectionReset => "connection reset",
        _ => error.ToString(),
    };

    private static async ValueTask DisposeQuietly(Stream? stream, Socket socket)
    {
        if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
        socket.Dispose();
    }

    /// <summary>The runtime for <paramref name="config"/>, rebuilt when the record or its assignment is a new instance.</summary>
    private ClusterRuntime Runtime(ClusterConfig config, SidecarState state)
    {
        var assignment = config.Kind == ClusterKind.Eds ? state.Endpoints.GetValueOrDefault(config.EdsServiceName ?? config.Name) : null;
        if (_runtimes.TryGetValue(config.Name, out var runtime)
            && ReferenceEquals(runtime.Config, config) && ReferenceEquals(runtime.Assignment, assignment))
        {
            return runtime;
        }

        // Rare (once per update of the cluster): serialise rebuilds so that two racing picks cannot each create
        // counters for a new endpoint and split its count.
        lock (_rebuild)
        {
            if (_runtimes.TryGetValue(config.Name, out runtime)
                && ReferenceEquals(runtime.Config, config) && ReferenceEquals(runtime.Assignment, assignment))
            {
                return runtime;
            }

            var next = new ClusterRuntime(config, assignment, runtime, _metrics);
            _runtimes[config.Name] = next;
            return next;
        }
    }

    /// <summary>Forgets the runtimes of clusters the state no longer has (once per state).</summary>
    private void Prune(SidecarState state)
    {
        foreach (var name in _runtimes.Keys)
        {
            if (!state.Clusters.ContainsKey(name)) _runtimes.TryRemove(name, out _);
        }

        Volatile.Write(ref _pruned, state);
    }

    private IEndpointLease? PickIn(ClusterRuntime runtime, in LbContext context)
    {
        var levels = runtime.Levels;
        if (levels.Length == 0) return null;
        var outlier = runtime.Config.OutlierDetection is not null;
        var now = outlier ? _time.GetTimestamp() : 0;

        // The most preferred level with an endpoint that is not ejected; when every endpoint is ejected, Envoy's
        // panic mode: ignore ejections rather than refuse all traffic.
        PriorityLevel? level = null;
        var ignoreEjection = !outlier;
        if (outlier)
        {
            foreach (var candidate in levels)
            {
                foreach (var member in candidate.Members)
                {
                    if (Volatile.Read(ref member.State.EjectedUntil) <= now) { level = candidate; break; }
                }

                if (level is not null) break;
            }
        }

        if (level is null)
        {
            level = levels[0];
            ignoreEjection = true;
        }

        var chosen = Choose(runtime.Config, level, context, now, ignoreEjection, context.Exclude)
            ?? (context.Exclude is null ? null : Choose(runtime.Config, level, context, now, ignoreEjection, null));
        if (chosen is null) return null;

        if (Interlocked.Increment(ref runtime.Counters.ActiveRequests) > runtime.MaxRequests)
        {
            Interlocked.Decrement(ref runtime.Counters.ActiveRequests);
            runtime.Overflow.Inc();
            return null;
        }

        Interlocked.Increment(ref chosen.State.ActiveRequests);
        return new EndpointLease(this, runtime, chosen);
    }

    private static bool Eligible(Member member, long now, bool ignoreEjection, IPEndPoint? exclude) =>
        (ignoreEjection || Volatile.Read(ref member.State.EjectedUntil) <= now)
        && (exclude is null || !member.Config.Address.Equals(exclude));

    private static Member? Choose(ClusterConfig config, PriorityLevel level, in LbContext context, long now, bool ignoreEjection, IPEndPoint? exclude)
    {
        var members = level.Members;
        switch (config.LbPolicy)
        {
            case LbPolicy.RoundRobin:
            {
                var schedule = level.Schedule;
                var start = (ulong)Interlocked.Increment(ref level.Cursor);
                for (var i = 0; i < schedule.Length; i++)
                {
                    var member = members[schedule[(int)((start + (ulong)i) % (ulong)schedule.Length)]];
                    if (Eligible(member, now, ignoreEjection, exclude)) return member;
                }

                return null;
            }
            case LbPolicy.RingHash when context.Hash is { } hash:
            {
                var ring = level.Ring;
                int lo = 0, hi = ring.Length;
                while (lo < hi)
                {
                    var mid = (lo + hi) >>> 1;
                    if (ring[mid].Hash < hash) lo = mid + 1; else hi = mid;
                }

                for (var i = 0; i < ring.Length; i++)
                {
                    var member = members[ring[(lo + i) % ring.Length].Member];
                    if (Eligible(member, now, ignoreEjection, exclude)) return member;
                }

                return null;
            }
            case LbPolicy.Maglev when context.Hash is { } hash:
            {
                var table = level.Maglev;
                var start = (int)(hash % (ulong)table.Length);
                for (var i = 0; i < table.Length; i++)
                {
                    var member = members[table[(start + i) % table.Length]];
                    if (Eligible(member, now, ignoreEjection, exclude)) return member;
                }

                return null;
            }
            case LbPolicy.LeastRequest:
                return LeastRequest(config, members, now, ignoreEjection, exclude);
            default:
                // Random, and ring hash / maglev without a request hash.
                return WeightedRandom(members, now, ignoreEjection, exclude);
        }
    }

    private static Member? WeightedRandom(Member[] members, long now, bool ignoreEjection, IPEndPoint? exclude)
    {
        long total = 0;
        foreach (var member in members)
        {
            if (Eligible(member, now, ignoreEjection, exclude)) total += member.Weight;
        }

        if (total == 0) return null;
        var point = Random.Shared.NextInt64(total);
        foreach (var member in members)
        {
            if (!Eligible(member, now, ignoreEjection, exclude)) continue;
            point -= member.Weight;
            if (point < 0) return member;
        }

        return null;
    }

    /// <summary>
    /// Power of N distinct random choices, keeping the one with the fewest active requests per unit of weight (with
    /// equal weights this is Envoy's P2C on active requests).
    /// </summary>
    private static Member? LeastRequest(ClusterConfig config, Member[] members, long now, bool ignoreEjection, IPEndPoint? exclude)
    {
        Span<int> eligible = members.Length <= 256 ? stackalloc int[members.Length] : new int[members.Length];
        var count = 0;
        for (var i = 0; i < members.Length; i++)
        {
            if (Eligible(members[i], now, ignoreEjection, exclude)) eligible[count++] = i;
        }

        if (count == 0) return null;
        if (count == 1) return members[eligible[0]];
        // Distinct choices (a partial shuffle): two draws of the same busy endpoint would defeat the comparison.
        var choices = Math.Min(count, Math.Max(2, config.LeastRequestChoiceCount));
        Member? best = null;
        for (var c = 0; c < choices; c++)
        {
            var j = Random.Shared.Next(c, count);
            (eligible[c], eligible[j]) = (eligible[j], eligible[c]);
            var candidate = members[eligible[c]];
            if (best is null || Better(candidate, best)) best = candidate;
        }

        return best;

        static bool Better(Member a, Member b) =>
            (Volatile.Read(ref a.State.ActiveRequests) + 1L) * b.Weight < (Volatile.Read(ref b.State.ActiveRequests) + 1L) * a.Weight;
    }

    private void Report(ClusterRuntime runtime, Member member, bool success)
    {
        if (success)
        {
            Volatile.Write(ref member.State.ConsecutiveFailures, 0);
            return;
        }

        var outlier = runtime.Config.OutlierDetection;
        if (outlier is null) return;
        var failures = Interlocked.Increment(ref member.State.ConsecutiveFailures);
        if (failures < Math.Max(1, outlier.Consecutive5xx)) return;
        if (runtime.TryEject(member.State, outlier, _time))
        {
            Log.Ejected(_logger, runtime.Config.Name, member.Config.Address.ToString(), failures);
        }
    }

    /// <summary>A picked endpoint; holds one active request on the endpoint and the cluster until disposed.</summary>
    private sealed class EndpointLease(ClusterManager owner, ClusterRuntime runtime, Member member) : IEndpointLease
    {
        private int _disposed;

        public ClusterRuntime Runtime { get; } = runtime;
        public ClusterConfig Cluster => Runtime.Config;
        public EndpointConfig Endpoint => member.Config;

        public void Report(bool success) => owner.Report(Runtime, member, success);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            Interlocked.Decrement(ref member.State.ActiveRequests);
            Interlocked.Decrement(ref Runtime.Counters.ActiveRequests);
        }
    }
}
