using System.Diagnostics;
using System.Globalization;
using Mesh.Benchmarks.Fanout;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// Watch fan-out: N blocking queries parked on one key, each on its own connection, then one write. This is what a
/// fleet of sidecars or consul-template instances watching a shared key does to a server, and it measures two things
/// a KV benchmark does not: the memory each parked query costs, and how fast one change reaches every watcher.
/// </summary>
internal sealed class FanoutScenario : IScenario
{
    private const string Key = "bench/fan";

    /// <summary>Longer than any round can take, so a watcher that answers before the write is a bug, not a timeout.</summary>
    private const string Wait = "120s";

    private const double TargetP99Ms = 250;
    private const double TargetRssMb = 400;

    /// <summary>Connects and sends in flight at once. A connect completes in the kernel before the agent accepts
    /// it, so this does not bound the agent's accept queue; when that overflows, the kernel drops handshakes and
    /// retries them a second later. That only lengthens the arm time, which is reported but has no target, and the
    /// parked check waits for the retried connections.</summary>
    private const int ArmParallelism = 64;

    /// <summary>How long after the write a watcher may take before it counts as never answered.</summary>
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(30);

    /// <summary>File descriptors this process needs beyond the watchers' sockets (runtime, HttpClient, pipes).</summary>
    private const int SpareDescriptors = 256;

    public string Name => "fanout";

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        var count = context.Options.Watchers;
        CheckDescriptorLimits(context.Agent, count);

        var log = context.Log;
        var api = context.Api;
        var agent = context.Agent;
        var figures = new List<Figure>();
        var notes = new List<string>();

        await api.PutAsync(Key, "round-0", cancellation);
        var index = await api.GetIndexAsync(Key, cancellation);
        var idleRss = agent.RssBytes();
        var gauge = await ParkedProbe.GaugeBaselineAsync(api, cancellation);
        figures.Add(new Figure("agent RSS before watchers", "rss_idle_mb", Megabytes(idleRss), "MB"));

        var watchers = new RawWatcher?[count];
        var worstP99 = 0.0;
        var maxRss = 0L;
        try
        {
            for (var round = 1; round <= context.Options.Rounds; round++)
            {
                var r = await RunRoundAsync(context, watchers, index, round, gauge, cancellation);
                log.WriteLine($"fanout: round {round}: answered {r.Answered:#,0}/{count:#,0}, first {Figure.Format(r.Min, "ms")} ms, " +
                              $"p50 {Figure.Format(r.P50, "ms")} ms, p99 {Figure.Format(r.P99, "ms")} ms, max {Figure.Format(r.Max, "ms")} ms, " +
                              $"agent RSS {Megabytes(r.RssBytes):#,0} MB; CPU while answering: agent {r.AgentCpuMs:#,0} ms, client {r.ClientCpuMs:#,0} ms; " +
                              $"agent GC while answering: {r.GcPauseMs:#,0.0} ms paused, {r.Gen2Collections} gen2");

                var p = $"round{round}_";
                figures.Add(new Figure($"round {round} arm time", p + "arm_s", r.ArmSeconds, "s"));
                figures.Add(new Figure($"round {round} agent RSS parked", p + "rss_mb", Megabytes(r.RssBytes), "MB"));
                figures.Add(new Figure($"round {round} latency p50", p + "p50_ms", r.P50, "ms"));
                figures.Add(new Figure($"round {round} latency p99", p + "p99_ms", r.P99, "ms"));
                figures.Add(new Figure($"round {round} latency max", p + "max_ms", r.Max, "ms"));
                figures.Add(new Figure($"round {round} answered new index", p + "answered", r.Answered, ""));
                figures.Add(new Figure($"round {round} agent CPU answering", p + "agent_cpu_ms", r.AgentCpuMs, "ms"));
                figures.Add(new Figure($"round {round} client CPU answering", p + "client_cpu_ms", r.ClientCpuMs, "ms"));
                figures.Add(new Figure($"round {round} agent GC pause answering", p + "gc_pause_ms", r.GcPauseMs, "ms"));
                if (!r.Parked.Parked) notes.Add($"round {round}: watchers not confirmed parked ({r.Parked.How}); the write went ahead anyway");
                else if (round == 1) notes.Add($"parked: {r.Parked.How}");
                if (r.Early > 0) notes.Add($"round {round}: {r.Early:#,0} watchers answered before the write (a blocking query returned early)");
                if (r.ArmFailures > 0) notes.Add($"round {round}: {r.ArmFailures:#,0} watchers could not connect or send; counted as never answered");

                worstP99 = Math.Max(worstP99, r.P99);
                maxRss = Math.Max(maxRss, r.RssBytes);
                index = await api.GetIndexAsync(Key, cancellation);
            }
        }
        finally
        {
            foreach (var watcher in watchers) watcher?.Dispose();
        }

        figures.Add(new Figure("watchers", "watchers", count, ""));
        figures.Add(new Figure("worst p99 over rounds", "worst_p99_ms", worstP99, "ms", new Target(TargetKind.AtMost, TargetP99Ms)));
        figures.Add(new Figure("agent RSS parked (max)", "rss_max_mb", Megabytes(maxRss), "MB", new Target(TargetKind.Below, TargetRssMb)));
        notes.Add("latency = time from just before the PUT to the last byte of each watcher's response, measured by the " +
                  "client on the same cores; a watcher that never answered counts as infinite");
        return new ScenarioResult(Name, figures, notes);
    }

    /// <summary>One round's figures. The CPU times, spent by each side between the write and the last answer, show
    /// whether the latency is the agent's or the client's: both share the same cores.</summary>
    private sealed record RoundResult(
        double ArmSeconds, ParkedOutcome Parked, long RssBytes, int Early, int ArmFailures, int Answered,
        double Min, double P50, double P99, double Max, double AgentCpuMs, double ClientCpuMs, double GcPauseMs, int Gen2Collections);

    private static async Task<RoundResult> RunRoundAsync(
        BenchContext context, RawWatcher?[] watchers, ulong index, int round, (string Name, double Value)? gauge, CancellationToken cancellation)
    {
        var agent = context.Agent;
        var count = watchers.Length;
        var request = RawWatcher.EncodeGet($"/v1/kv/{Key}?index={index.ToString(CultureInfo.InvariantCulture)}&wait={Wait}", agent.HttpEndPoint);

        // Arm: connect the slots that have no live connection (all of them in round 1), then send every request.
        // Reading starts only once everything is sent, which loses nothing: a response that arrives early waits in
        // the socket buffer and is seen as "early" below.
        context.Log.WriteLine($"fanout: round {round}: arming {count:#,0} watchers at index {index}");
        var armClock = Stopwatch.StartNew();
        var armed = new bool[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = ArmParallelism, CancellationToken = cancellation },
            async (i, ct) =>
            {
                try
                {
                    watchers[i] ??= await RawWatcher.ConnectAsync(agent.HttpEndPoint, ct);
                    await watchers[i]!.SendAsync(request, ct);
                    armed[i] = true;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    watchers[i]?.Dispose();
                    watchers[i] = null;
                }
            });
        var armSeconds = armClock.Elapsed.TotalSeconds;

        using var roundCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var responses = new Task<WatchResponse>[count];
        for (var i = 0; i < count; i++)
        {
            responses[i] = armed[i]
                ? watchers[i]!.ReadResponseAsync(roundCancel.Token)
                : Task.FromException<WatchResponse>(new IOException("not armed"));
        }
        var armFailures = armed.Count(a => !a);

        var parked = await ParkedProbe.WaitAsync(agent, context.Api, gauge, count - armFailures, cancellation);
        context.Log.WriteLine($"fanout: round {round}: armed in {armSeconds:0.00} s; parked check {parked.Waited.TotalSeconds:0.0} s later: {(parked.Parked ? "parked" : "NOT confirmed")}");
        var rss = agent.RssBytes();
        var early = responses.Count((t) => t.IsCompletedSuccessfully);

        // The agent's GC counters, read before the write and after the last answer, tell whether a collection
        // landed in the burst (their HTTP reads are outside the timed window).
        var gcBefore = await GcAsync(context.Api, cancellation);

        // A new value every round: a write that changes nothing does not bump the index and would wake nobody.
        var agentTicks = agent.CpuTicks();
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var start = Stopwatch.GetTimestamp();
        await context.Api.PutAsync(Key, $"round-{round}-{Guid.NewGuid():N}", cancellation);
        await Task.WhenAny(Task.WhenAll(responses), Task.Delay(AnswerTimeout, cancellation));
        roundCancel.Cancel(); // stragglers: their connections are dropped below and re-opened next round
        var agentCpuMs = (agent.CpuTicks() - agentTicks) * 1000.0 / ProcFs.UserHz;
        var clientCpuMs = (Process.GetCurrentProcess().TotalProcessorTime - clientCpu).TotalMilliseconds;
        var gcAfter = await GcAsync(context.Api, cancellation);

        var latencies = new double[count];
        var answered = 0;
        for (var i = 0; i < count; i++)
        {
            var task = responses[i];
            if (task.IsCompletedSuccessfully && task.Result is { Status: 200 } response && response.Index > index)
            {
                answered++;
                latencies[i] = Stopwatch.GetElapsedTime(start, response.CompletedTimestamp).TotalMilliseconds;
            }
            else
            {
                latencies[i] = double.PositiveInfinity;
            }

            // Keep a connection for the next round only if it is known to be idle and reusable.
            if (!task.IsCompletedSuccessfully || !task.Result.KeepAlive)
            {
                _ = task.Exception; // observed: a cancelled or failed read is expected here, not an unhandled error
                watchers[i]?.Dispose();
                watchers[i] = null;
            }
        }

        Array.Sort(latencies);
        return new RoundResult(armSeconds, parked, rss, early, armFailures, answered,
            latencies[0], Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies[^1], agentCpuMs, clientCpuMs,
            gcAfter.PauseMs - gcBefore.PauseMs, (int)(gcAfter.Gen2 - gcBefore.Gen2));
    }

    /// <summary>The agent's total GC pause and gen2 count from its metrics; zeros when it does not report them.</summary>
    private static async Task<(double PauseMs, double Gen2)> GcAsync(AgentApi api, CancellationToken cancellation)
    {
        var pause = await api.GaugeAsync(["runtime.gc_pause_ms_total"], cancellation);
        var gen2 = await api.GaugeAsync(["runtime.gc_gen2_count"], cancellation);
        return (pause?.Value ?? 0, gen2?.Value ?? 0);
    }

    /// <summary>Nearest-rank percentile of sorted values: the smallest value at or below which p of them lie.</summary>
    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static double Megabytes(long bytes) => bytes / (1024.0 * 1024.0);

    /// <summary>
    /// Each watcher holds one descriptor here and one in the agent. The .NET runtime already raises its soft
    /// RLIMIT_NOFILE to the hard limit at start-up, and the agent inherits ours, so all that is left is to check and
    /// say what to do if the hard limit itself is too low.
    /// </summary>
    private static void CheckDescriptorLimits(AgentProcess agent, int watchers)
    {
        var needed = watchers + SpareDescriptors;
        foreach (var (who, pid) in new[] { ("this process", "self"), ("the agent", agent.Pid.ToString(CultureInfo.InvariantCulture)) })
        {
            var (soft, _) = ProcFs.OpenFileLimits(pid);
            if (soft >= 0 && soft < needed)
                throw new BenchmarkSetupException(
                    $"{who} may open only {soft} files but {watchers} watchers need about {needed}; raise the limit " +
                    $"(`ulimit -n {needed}` in the shell that runs the benchmark) or pass a smaller --watchers");
        }
    }
}
