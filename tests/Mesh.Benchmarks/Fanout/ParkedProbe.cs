using System.Diagnostics;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Fanout;

/// <summary>How the scenario knew the watchers were parked, and how long that took after the last request was sent.</summary>
internal sealed record ParkedOutcome(bool Parked, TimeSpan Waited, string How);

/// <summary>
/// Decides when every watcher's request has been received and parked by the agent, so the write is not timed
/// against requests still being parsed. The client cannot see that by itself: a sent request is only bytes in a
/// kernel buffer. Two ways, best first:
/// <list type="number">
/// <item>The agent says so: its gauge of blocking queries in flight in <c>/v1/agent/metrics</c> rises by the
/// expected count. Mesh publishes <c>mesh.api.blocking_queries</c>, Consul <c>consul.rpc.queries_blocking</c>.</item>
/// <item>The kernel and the agent's CPU say so together. The kernel's TCP table shows when the agent has accepted
/// every connection and read every request byte (nothing in its accept queue, no half-open handshake, no unread
/// bytes on its sockets). What remains after that is pure CPU work (parse, route, register a watch) with nothing to
/// wait for, so once the agent's CPU time also stops growing, every request is parked. Both are observed rather
/// than assumed from a fixed sleep, which would be too short on a loaded machine, wasteful on an idle one, and
/// blind to handshakes the kernel dropped when the accept queue overflowed (those are retried after 1 s or more).</item>
/// </list>
/// </summary>
internal static class ParkedProbe
{
    private static readonly string[] GaugeSuffixes = [".blocking_queries", ".queries_blocking"];

    /// <summary>CPU is sampled over windows this long; /proc reports it in 10 ms ticks.</summary>
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(500);

    /// <summary>At most 2 ticks (20 ms) per 500 ms window, 4% of one core: Kestrel's 1 s heartbeat and the GC's
    /// background work stay under it, while parsing even a few hundred requests does not.</summary>
    private const long QuietTicksPerWindow = 2;

    private const int QuietWindowsNeeded = 2;

    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Reads the gauge before the watchers are armed; null if the agent does not publish one. Its value is the
    /// baseline that the armed watchers add to.
    /// </summary>
    public static async Task<(string Name, double Value)?> GaugeBaselineAsync(AgentApi api, CancellationToken cancellation) =>
        await api.GaugeAsync(GaugeSuffixes, cancellation);

    public static async Task<ParkedOutcome> WaitAsync(
        AgentProcess agent, AgentApi api, (string Name, double Value)? gaugeBaseline, int expected, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        if (gaugeBaseline is { } baseline)
        {
            while (clock.Elapsed < GiveUpAfter)
            {
                var gauge = await api.GaugeAsync(GaugeSuffixes, cancellation);
                if (gauge is { } g && g.Value - baseline.Value >= expected)
                    return new ParkedOutcome(true, clock.Elapsed, $"agent gauge {g.Name} = {g.Value:#,0}");
                await Task.Delay(100, cancellation);
            }
            return new ParkedOutcome(false, clock.Elapsed, $"agent gauge {baseline.Name} never rose by {expected:#,0}");
        }

        var port = agent.HttpEndPoint.Port;
        var quietWindows = 0;
        var ticks = agent.CpuTicks();
        var sockets = TcpTable.ServerSide(port);
        while (clock.Elapsed < GiveUpAfter)
        {
            await Task.Delay(Window, cancellation);
            var now = agent.CpuTicks();
            quietWindows = now - ticks <= QuietTicksPerWindow ? quietWindows + 1 : 0;
            ticks = now;
            sockets = TcpTable.ServerSide(port);
            if (sockets.AllRead && sockets.Established >= expected && quietWindows >= QuietWindowsNeeded)
                return new ParkedOutcome(true, clock.Elapsed,
                    $"no watcher gauge in /v1/agent/metrics; kernel: {sockets}; then agent CPU quiet for {QuietWindowsNeeded * Window.TotalSeconds:0.#} s");
        }
        return new ParkedOutcome(false, clock.Elapsed, $"kernel: {sockets}; agent CPU quiet windows: {quietWindows}");
    }
}
