using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Sidecar.Http;

/// <summary>
/// Splices an upgraded connection (WebSocket or any HTTP/1.1 <c>Upgrade</c>) once the upstream answered 101: the
/// downstream is switched with Kestrel's <see cref="IHttpUpgradeFeature"/>, the upstream side is the duplex stream
/// <see cref="SocketsHttpHandler"/> returns as the 101 response's content, and bytes are copied both ways until
/// either side closes, which then ends the other.
/// </summary>
internal static class UpgradeForwarder
{
    /// <summary>Bytes moved each way.</summary>
    internal readonly record struct Totals(long FromDownstream, long FromUpstream);

    /// <summary>Runs the tunnel; <paramref name="idleTimeout"/> closes it when neither side sends for that long.</summary>
    public static async Task<Totals> RunAsync(IHttpUpgradeFeature upgrade, Stream upstream, TimeSpan? idleTimeout, CancellationToken cancellationToken)
    {
        await using var downstream = await upgrade.UpgradeAsync().ConfigureAwait(false);
        await using var upstreamStream = upstream.ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var activity = new ActivityClock();
        using var idle = idleTimeout is { } limit && limit > TimeSpan.Zero
            ? new Timer(_ => CancelIfIdle(activity, limit, stop), null, limit, limit / 2)
            : null;

        var up = CopyAsync(downstream, upstream, activity, stop.Token);
        var down = CopyAsync(upstream, downstream, activity, stop.Token);
        await Task.WhenAny(up, down).ConfigureAwait(false);
        // One side closed (or failed): the tunnel is over, stop the other direction too.
        await stop.CancelAsync().ConfigureAwait(false);
        var fromDownstream = await Settle(up).ConfigureAwait(false);
        var fromUpstream = await Settle(down).ConfigureAwait(false);
        return new Totals(fromDownstream, fromUpstream);
    }

    /// <summary>
    /// The idle timer's tick. Disposing a timer does not wait for a tick already running, so one may land after the
    /// tunnel ended and <paramref name="stop"/> is disposed; that must not throw on a pool thread (it would end the process).
    /// </summary>
    private static void CancelIfIdle(ActivityClock activity, TimeSpan limit, CancellationTokenSource stop)
    {
        if (activity.IdleFor() < limit) return;
        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static async Task<long> Settle(Task<long> copy)
    {
        try
        {
            return await copy.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            return 0;
        }
    }

    private static async Task<long> CopyAsync(Stream from, Stream to, ActivityClock activity, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        long total = 0;
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                if (read == 0) return total;
                activity.Touch();
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await to.FlushAsync(cancellationToken).ConfigureAwait(false);
                total += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>When either direction last moved data.</summary>
    private sealed class ActivityClock
    {
        private long _last = Environment.TickCount64;

        public void Touch() => Volatile.Write(ref _last, Environment.TickCount64);

        public TimeSpan IdleFor() => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _last));
    }
}
