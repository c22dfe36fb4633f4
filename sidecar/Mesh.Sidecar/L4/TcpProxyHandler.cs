using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Upstreams;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.L4;

/// <summary>
/// Envoy's <c>tcp_proxy</c> for one downstream connection: pick an endpoint of the cluster (a weighted choice first
/// when the filter is weighted), connect (once more on another endpoint if that fails), then copy bytes both ways
/// until both sides have finished. An end of stream in one direction is passed on as a half-close (TCP FIN, or a TLS
/// close_notify) while the other direction keeps flowing; a connection idle in both directions for the idle timeout
/// is closed.
/// </summary>
internal sealed partial class TcpProxyHandler
{
    /// <summary>Envoy's default <c>idle_timeout</c> for tcp_proxy.</summary>
    internal static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromHours(1);

    private const int BufferSize = 16 * 1024;

    // A TCP proxy carries opaque bytes: offer no ALPN, whatever the cluster's HTTP protocol says.
    private static readonly IReadOnlyList<string> NoAlpn = [];

    private readonly IClusterManager _clusters;
    private readonly SidecarMetrics _metrics;
    private readonly ILogger _logger;

    public TcpProxyHandler(IClusterManager clusters, SidecarMetrics metrics, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _clusters = clusters;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger<TcpProxyHandler>();
    }

    /// <summary>
    /// Proxies <paramref name="connection"/> per <paramref name="config"/> and returns when both directions are done
    /// (or the connection failed, timed out or could not be connected upstream; then the downstream is closed).
    /// </summary>
    /// <param name="connection">The downstream connection (after TLS, when the listener terminates it).</param>
    /// <param name="config">The listener's TCP proxy filter.</param>
    /// <param name="aborted">
    /// Ends the connection at once (a drain that ran out of time). Kestrel's <c>ConnectionClosed</c> cannot serve:
    /// it fires on the client's FIN as well, which here is a half-close to pass on, not the end.
    /// </param>
    public async Task HandleAsync(ConnectionContext connection, TcpProxyConfig config, CancellationToken aborted = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(config);
        var label = config.StatPrefix;
        var clusterName = ChooseCluster(config);
        if (clusterName is null)
        {
            Log.NoCluster(_logger, label, connection.ConnectionId);
            return;
        }

        var (lease, upstream) = await ConnectAsync(clusterName, label, connection.ConnectionId, aborted).ConfigureAwait(false);
        if (lease is null || upstream is null) return;
        using (lease)
        await using (upstream.Stream.ConfigureAwait(false))
        {
            await PumpAsync(connection, upstream.Stream, config.IdleTimeout ?? DefaultIdleTimeout, label, aborted).ConfigureAwait(false);
        }
    }

    private static string? ChooseCluster(TcpProxyConfig config) =>
        config.WeightedClusters is { TotalWeight: > 0 } weighted ? WeightedPicker.Pick(weighted).Name : config.Cluster;

    /// <summary>Connects to an endpoint of the cluster; after a failure, once more to another endpoint when there is one.</summary>
    private async Task<(IEndpointLease?, UpstreamConnection?)> ConnectAsync(string cluster, string label, string connectionId, CancellationToken aborted)
    {
        IPEndPoint? failed = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var lease = _clusters.Pick(cluster, new LbContext(Exclude: failed));
            if (lease is null)
            {
                if (attempt == 0)
                {
                    _metrics.NoHealthyUpstream.With(cluster).Inc();
                    Log.NoEndpoint(_logger, label, connectionId, cluster);
                }

                return (null, null);
            }

            if (failed is not null && lease.Endpoint.Address.Equals(failed))
            {
                // No other endpoint serves: a second attempt at the one that just failed would only fail again.
                lease.Dispose();
                return (null, null);
            }

            try
            {
                var upstream = await _clusters.ConnectAsync(lease, NoAlpn, aborted).ConfigureAwait(false);
                lease.Report(true);
                return (lease, upstream);
            }
            catch (UpstreamConnectException ex)
            {
                lease.Report(false);
                failed = lease.Endpoint.Address;
                lease.Dispose();
                Log.ConnectFailed(_logger, label, connectionId, ex.Message);
            }
            catch (OperationCanceledException)
            {
                lease.Dispose();
                return (null, null);
            }
            catch
            {
                lease.Dispose();
                throw;
            }
        }

        return (null, null);
    }

    private async Task PumpAsync(ConnectionContext connection, Stream upstream, TimeSpan idleTimeout, string label, CancellationToken aborted)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var activity = new Activity();
        var received = _metrics.BytesReceived.With(label);
        var sent = _metrics.BytesSent.With(label);
        var watchdog = WatchIdleAsync(activity, idleTimeout, idle);
        var up = DownstreamToUpstreamAsync(connection.Transport.Input, upstream, received, activity, idle.Token);
        var down = UpstreamToDownstreamAsync(connection, upstream, sent, activity, idle.Token);
        try
        {
            // A direction that ends cleanly has passed its end of stream on; the other keeps flowing until it ends
            // too. A direction that fails ends both, through the shared token.
            var first = await Task.WhenAny(up, down).ConfigureAwait(false);
            await first.ConfigureAwait(false);
            await (first == up ? down : up).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The connection's boundary: whatever broke (reset, TLS error, idle timeout), this connection ends and
            // nothing else is affected.
            // Both sides end: leaving the using blocks closes upstream, returning closes downstream.
            Log.ConnectionEnded(_logger, label, connection.ConnectionId, idle.IsCancellationRequested && !aborted.IsCancellationRequested ? "idle timeout" : ex.Message);
        }
        finally
        {
            await idle.CancelAsync().ConfigureAwait(false);
            try { await watchdog.ConfigureAwait(false); } catch (OperationCanceledException) { }
            // Observe the other direction so its failure is not unobserved.
            try { await up.ConfigureAwait(false); } catch (Exception) { }
            try { await down.ConfigureAwait(false); } catch (Exception) { }
        }
    }

    /// <summary>Downstream bytes to the upstream; at downstream end of stream, half-closes the upstream.</summary>
    private static async Task DownstreamToUpstreamAsync(PipeReader input, Stream upstream, Counter received, Activity activity, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (!buffer.IsEmpty)
            {
                activity.Touch();
                foreach (var segment in buffer)
                {
                    await upstream.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
                }

                received.Inc(buffer.Length);
            }

            input.AdvanceTo(buffer.End);
            if (result.IsCompleted || result.IsCanceled) break;
        }

        await upstream.FlushAsync(cancellationToken).ConfigureAwait(false);
        await HalfCloseAsync(upstream).ConfigureAwait(false);
    }

    /// <summary>Upstream bytes to the downstream; at upstream end of stream, half-closes the downstream.</summary>
    private static async Task UpstreamToDownstreamAsync(ConnectionContext connection, Stream upstream, Counter sent, Activity activity, CancellationToken cancellationToken)
    {
        var sink = DownstreamSink(connection);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var read = await upstream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                activity.Touch();
                await sink.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                sent.Inc(read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await sink.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (!await HalfCloseAsync(sink).ConfigureAwait(false))
        {
            await connection.Transport.Output.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Where upstream bytes go. Kestrel's transports close the whole socket when the output pipe completes
    /// (dotnet/aspnetcore#14937), and their send loop runs behind the pipe, so a FIN sent underneath could overtake
    /// bytes still queued in it. So write to the TLS stream or the socket itself, which nothing else writes to on a
    /// TCP proxy connection; then the half-close follows the last byte. The pipe (with a full close at the end) is
    /// only for a transport that exposes neither.
    /// </summary>
    private static Stream DownstreamSink(ConnectionContext connection)
    {
        if (connection.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ISslStreamFeature>() is { } tls) return tls.SslStream;
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is { Connected: true } socket) return new NetworkStream(socket, ownsSocket: false);
        return connection.Transport.Output.AsStream(leaveOpen: true);
    }

    /// <summary>Sends a TLS close_notify or a TCP FIN after the last byte; false for a stream that can do neither.</summary>
    private static async Task<bool> HalfCloseAsync(Stream stream)
    {
        switch (stream)
        {
            case SslStream ssl:
                await ssl.ShutdownAsync().ConfigureAwait(false);
                return true;
            case NetworkStream network:
                network.Socket.Shutdown(SocketShutdown.Send);
                return true;
            default:
                return false;
        }
    }

    private static async Task WatchIdleAsync(Activity activity, TimeSpan idleTimeout, CancellationTokenSource idle)
    {
        if (idleTimeout <= TimeSpan.Zero || idleTimeout == Timeout.InfiniteTimeSpan) return;
        var limit = (long)idleTimeout.TotalMilliseconds;
        while (true)
        {
            var quiet = Environment.TickCount64 - activity.Last;
            if (quiet >= limit)
            {
                await idle.CancelAsync().ConfigureAwait(false);
                return;
            }

            // One timer per connection that wakes at most once per idle period, rather than a reset per read.
            await Task.Delay(TimeSpan.FromMilliseconds(limit - quiet), idle.Token).ConfigureAwait(false);
        }
    }

    /// <summary>When bytes last moved, in either direction.</summary>
    private sealed class Activity
    {
        private long _last = Environment.TickCount64;

        public long Last => Volatile.Read(ref _last);

        public void Touch() => Volatile.Write(ref _last, Environment.TickCount64);
    }
}
