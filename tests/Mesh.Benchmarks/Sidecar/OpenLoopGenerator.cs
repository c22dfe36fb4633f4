using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>Latency at a fixed request rate, from each request's scheduled send time.</summary>
/// <param name="Scheduled">Requests scheduled in the measured window.</param>
/// <param name="Failed">Requests that got an error or a non-200 answer; they count as infinitely slow.</param>
/// <param name="MaxSendDelayMs">The worst delay between a request's scheduled time and its actual send.</param>
internal sealed record LatencyResult(long Scheduled, long Failed, double P50Ms, double P99Ms, double P999Ms, double MaxMs, double MaxSendDelayMs, string? FirstError)
{
    /// <summary>Every measured latency, in milliseconds, ascending; failures are +∞.</summary>
    public double[] Sorted { get; private init; } = [];

    /// <summary>The figures of <paramref name="sorted"/> (ascending latencies in milliseconds).</summary>
    public static LatencyResult FromSorted(double[] sorted, long failed, double maxSendDelayMs, string? firstError) =>
        new(sorted.Length, failed, Percentile(sorted, 0.50), Percentile(sorted, 0.99), Percentile(sorted, 0.999),
            sorted.Length == 0 ? double.NaN : sorted[^1], maxSendDelayMs, firstError) { Sorted = sorted };

    /// <summary>Several runs of one path as one: their samples pooled, so the percentiles weigh every request alike.</summary>
    public static LatencyResult Pool(IReadOnlyCollection<LatencyResult> runs)
    {
        var all = runs.SelectMany(r => r.Sorted).ToArray();
        Array.Sort(all);
        return FromSorted(all, runs.Sum(r => r.Failed), runs.Count == 0 ? 0 : runs.Max(r => r.MaxSendDelayMs),
            runs.Select(r => r.FirstError).FirstOrDefault(e => e is not null));
    }

    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
}

/// <summary>
/// An open-loop constant-rate load generator: requests are due at exact intervals whatever the answers do, go out
/// over a fixed pool of keep-alive connections, and each latency is measured from the time the request was
/// <em>due</em>, not from when it was sent. A closed-loop tool (wrk) sends the next request only after an answer, so
/// a stall delays the requests that would have seen it and they never get measured ("coordinated omission"); here a
/// stall shows up in every request due during it.
/// </summary>
internal static partial class OpenLoopGenerator
{
    private const int ClockMonotonic = 1;
    private const int TimerAbsoluteTime = 1;
    private const int Eintr = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanoSleep(int clock, int flags, in TimeSpec request, IntPtr remaining);

    /// <summary>
    /// Sends <c>GET path</c> to <paramref name="target"/> at <paramref name="rate"/> requests per second for
    /// <paramref name="warmup"/> (discarded) and then <paramref name="duration"/> (measured).
    /// </summary>
    public static async Task<LatencyResult> RunAsync(IPEndPoint target, string path, int rate, int connections, TimeSpan warmup, TimeSpan duration,
        CancellationToken cancellation)
    {
        var warmupCount = (long)(warmup.TotalSeconds * rate);
        var total = warmupCount + (long)(duration.TotalSeconds * rate);
        var latencies = new double[total];
        var sendDelays = new double[total];
        long failed = 0;
        string? firstError = null;

        var pool = Enumerable.Range(0, connections).Select(_ => new RawHttpConnection(target, path)).ToArray();
        try
        {
            foreach (var connection in pool) await connection.ConnectAsync(cancellation);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            foreach (var connection in pool) connection.Dispose();
            throw new Infrastructure.BenchmarkSetupException($"the latency generator cannot connect to {target}: {e.SocketErrorCode}");
        }

        // Every request is (index, due timestamp); whichever connection is free takes the next. When all are busy the
        // request waits in the channel, and that wait is part of its latency, as a client's queue would be.
        var due = Channel.CreateUnbounded<(long Index, long Due)>(new UnboundedChannelOptions { SingleWriter = true });
        var workers = pool.Select(connection => Task.Run(async () =>
        {
            await foreach (var (index, dueAt) in due.Reader.ReadAllAsync(cancellation))
            {
                sendDelays[index] = Milliseconds(Stopwatch.GetTimestamp() - dueAt);
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                    timeout.CancelAfter(TimeSpan.FromSeconds(10));
                    var status = await connection.SendAsync(timeout.Token);
                    if (status != 200) throw new IOException($"HTTP status {status}");
                    latencies[index] = Milliseconds(Stopwatch.GetTimestamp() - dueAt);
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException && !cancellation.IsCancellationRequested)
                {
                    latencies[index] = double.PositiveInfinity;
                    if (index >= warmupCount && Interlocked.Increment(ref failed) == 1) Interlocked.CompareExchange(ref firstError, e.Message, null);
                    // The connection's state is unknown after an error: start it afresh for the next request.
                    try { await connection.ConnectAsync(cancellation); }
                    catch (System.Net.Sockets.SocketException) { }
                }
            }
        }, cancellation)).ToArray();

        // The schedule runs on its own thread and sleeps to absolute deadlines on the monotonic clock (the one the
        // Stopwatch reads on Linux): relative sleeps drift, and a thread-pool timer has a millisecond granularity
        // that would itself add up to a millisecond to every latency.
        Exception? scheduleError = null;
        var scheduler = new Thread(() =>
        {
            // An exception on a thread of our own would end the process; keep it for the caller instead.
            try { Schedule(due.Writer, rate, total, cancellation); }
            catch (Exception e) { scheduleError = e; }
        }) { IsBackground = true, Name = "open-loop schedule" };
        scheduler.Start();
        try
        {
            await Task.WhenAll(workers);
        }
        finally
        {
            scheduler.Join();
            foreach (var connection in pool) connection.Dispose();
        }
        cancellation.ThrowIfCancellationRequested();
        if (scheduleError is not null) throw new Infrastructure.BenchmarkSetupException($"the latency generator's schedule failed: {scheduleError.Message}");

        var measured = latencies.AsSpan((int)warmupCount).ToArray();
        Array.Sort(measured);
        var maxDelay = sendDelays.AsSpan((int)warmupCount).ToArray().DefaultIfEmpty(0).Max();
        return LatencyResult.FromSorted(measured, failed, maxDelay, firstError);
    }

    private static void Schedule(ChannelWriter<(long, long)> writer, int rate, long total, CancellationToken cancellation)
    {
        try
        {
            if (ClockGetTime(ClockMonotonic, out var start) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_MONOTONIC) failed");
            var stopwatchStart = Stopwatch.GetTimestamp();
            var startNs = start.Seconds * 1_000_000_000L + start.Nanoseconds;
            var intervalNs = 1_000_000_000L / rate;
            for (long i = 0; i < total && !cancellation.IsCancellationRequested; i++)
            {
                var dueNs = startNs + i * intervalNs;
                var deadline = new TimeSpec { Seconds = dueNs / 1_000_000_000L, Nanoseconds = dueNs % 1_000_000_000L };
                // EINTR (a signal, e.g. the GC suspending threads) returns early; sleep again to the same deadline.
                int result;
                while ((result = ClockNanoSleep(ClockMonotonic, TimerAbsoluteTime, deadline, IntPtr.Zero)) == Eintr) { }
                if (result != 0) throw new InvalidOperationException($"clock_nanosleep failed with error {result}");
                // In double: i * interval * frequency overflows a long after a few seconds at a nanosecond frequency.
                writer.TryWrite((i, stopwatchStart + (long)((double)(i * intervalNs) * Stopwatch.Frequency / 1e9)));
            }
        }
        finally
        {
            writer.TryComplete();
        }
    }

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
