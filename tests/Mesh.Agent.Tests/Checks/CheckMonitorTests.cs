using Mesh.State.Tables;
using Mesh.Agent.Checks;

namespace Mesh.Agent.Tests.Checks;

public sealed class CheckMonitorTests
{
    [Fact]
    public async Task Monitor_SuccessBeforePassing2_NeedsTwoConsecutiveSuccesses()
    {
        var probe = new ScriptedProbe(HealthStatus.Critical, HealthStatus.Passing, HealthStatus.Critical, HealthStatus.Passing, HealthStatus.Passing);
        var sink = new ResultSink();
        await using var monitor = Start(probe, sink, new CheckDefinition { TCP = "x:1", Interval = CheckKit.Interval, SuccessBeforePassing = 2 });

        var results = new List<CheckResult>();
        while (results.Count == 0 || results[^1].Status != HealthStatus.Passing)
        {
            results.Add(await sink.NextAsync());
        }

        // The first result is reported at once (Consul starts the counters at their thresholds); the lone success of
        // run 2 is held back, and only the second of two consecutive successes (run 5) turns the check passing.
        Assert.Equal(
            ["critical run 1", "critical run 3", "passing run 5"],
            results.Select(r => $"{r.Status} {r.Output}"));
    }

    [Fact]
    public async Task Monitor_FailuresBeforeCritical3_NeedsThreeConsecutiveFailures()
    {
        var probe = new ScriptedProbe(
            HealthStatus.Passing, HealthStatus.Critical, HealthStatus.Critical, HealthStatus.Passing,
            HealthStatus.Critical, HealthStatus.Critical, HealthStatus.Critical);
        var sink = new ResultSink();
        await using var monitor = Start(probe, sink, new CheckDefinition { TCP = "x:1", Interval = CheckKit.Interval, FailuresBeforeCritical = 3 });

        var results = new List<CheckResult>();
        while (results.Count == 0 || results[^1].Status != HealthStatus.Critical)
        {
            results.Add(await sink.NextAsync());
        }

        Assert.Equal(
            ["passing run 1", "passing run 4", "critical run 7"],
            results.Select(r => $"{r.Status} {r.Output}"));
    }

    [Fact]
    public async Task Monitor_SameResultRepeated_ReportedOnce()
    {
        var probe = new ScriptedProbe(HealthStatus.Passing) { FixedOutput = "same" };
        var sink = new ResultSink();
        await using var monitor = Start(probe, sink, new CheckDefinition { TCP = "x:1", Interval = TimeSpan.FromMilliseconds(20) });

        Assert.Equal(new CheckResult(HealthStatus.Passing, "same"), await sink.NextAsync());
        await probe.RunsReached(6);

        Assert.False(await sink.AnyWithinAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task Monitor_ProbeIgnoresItsTimeout_ReportedCriticalAndScheduleContinues()
    {
        var probe = new HangingProbe();
        var sink = new ResultSink();
        await using var monitor = Start(probe, sink, new CheckDefinition { TCP = "x:1", Interval = CheckKit.Interval, Timeout = TimeSpan.FromMilliseconds(100) });

        var result = await sink.NextAsync();

        Assert.Equal(new CheckResult(HealthStatus.Critical, "Timed out (100ms) running check"), result);
    }

    [Fact]
    public async Task DisposeAsync_DuringRun_StopsPromptlyWithoutFurtherCallbacks()
    {
        var probe = new HangingProbe();
        var sink = new ResultSink();
        var monitor = Start(probe, sink, new CheckDefinition { TCP = "x:1", Interval = CheckKit.Interval, Timeout = TimeSpan.FromSeconds(30) });
        await probe.Started.Task.WaitAsync(ResultSink.Wait);

        await monitor.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));

        Assert.False(await sink.AnyWithinAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task Monitor_IntervalBelowFloor_RaisedToFloor()
    {
        var definition = new CheckDefinition { TCP = "127.0.0.1:1", Interval = TimeSpan.FromMilliseconds(10) };
        await using var monitor = new CheckMonitor(definition, new ScriptedProbe(HealthStatus.Passing), _ => { }, CheckKit.Logger);

        Assert.Equal(CheckDefinition.MinInterval, monitor.Interval);
    }

    private static CheckMonitor Start(ICheckProbe probe, ResultSink sink, CheckDefinition definition) =>
        new(definition, probe, sink.Callback, CheckKit.Logger, TimeSpan.FromMilliseconds(10));

    /// <summary>Returns the given statuses in order (then repeats the last), with output "run N".</summary>
    private sealed class ScriptedProbe(params string[] statuses) : ICheckProbe
    {
        private readonly Lock _gate = new();
        private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
        private int _runs;

        public string? FixedOutput { get; init; }

        public Task<CheckResult> ProbeAsync(CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                var run = ++_runs;
                foreach (var waiter in _waiters.Where(w => w.Count <= run))
                {
                    waiter.Done.TrySetResult();
                }

                var status = statuses[Math.Min(run, statuses.Length) - 1];
                return Task.FromResult(new CheckResult(status, FixedOutput ?? $"run {run}"));
            }
        }

        public Task RunsReached(int count)
        {
            lock (_gate)
            {
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_runs >= count)
                {
                    done.SetResult();
                }
                else
                {
                    _waiters.Add((count, done));
                }

                return done.Task.WaitAsync(ResultSink.Wait);
            }
        }
    }

    /// <summary>A probe that never finishes until cancelled, ignoring its own timeout.</summary>
    private sealed class HangingProbe : ICheckProbe
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task<CheckResult> ProbeAsync(CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }
}
