using Mesh.State.Text;
using Mesh.State.Tables;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Checks;

/// <summary>
/// Runs one interval check: a probe every <see cref="CheckDefinition.Interval"/> (after a random stagger so checks
/// registered together do not fire together), each run bounded by the check's timeout, results filtered through
/// Consul's success/failure thresholds, and the callback told only when the reported status or output changes.
/// </summary>
internal sealed partial class CheckMonitor : IAsyncDisposable
{
    /// <summary>Extra time a probe gets past its own timeout before the monitor stops waiting for it.</summary>
    private static readonly TimeSpan ProbeGrace = TimeSpan.FromSeconds(1);

    /// <summary>The longest first-run stagger: Consul staggers over a whole interval, but a first result should come promptly.</summary>
    private static readonly TimeSpan MaxStagger = TimeSpan.FromSeconds(1);

    private readonly CheckDefinition _definition;
    private readonly ICheckProbe _probe;
    private readonly Action<CheckResult> _onChange;
    private readonly ILogger _logger;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _timeout;
    private readonly StatusThresholds _thresholds;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private CheckResult _current;

    /// <param name="definition">A valid interval check.</param>
    /// <param name="probe">The probe to run; the monitor owns it and disposes it.</param>
    /// <param name="onChange">Told each new reported result; called from the monitor's loop, one call at a time.</param>
    /// <param name="logger">Where threshold holds, timeouts and callback failures are logged.</param>
    /// <param name="minimumInterval">The interval floor; Consul's <see cref="CheckDefinition.MinInterval"/> unless a test lowers it.</param>
    public CheckMonitor(CheckDefinition definition, ICheckProbe probe, Action<CheckResult> onChange, ILogger logger, TimeSpan? minimumInterval = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(onChange);
        ArgumentNullException.ThrowIfNull(logger);
        if (definition.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(definition));
        }

        if (!definition.IsIntervalCheck)
        {
            throw new ArgumentException("a TTL check has no interval; run it with TtlCheck", nameof(definition));
        }

        _definition = definition;
        _probe = probe;
        _onChange = onChange;
        _logger = logger;
        _timeout = definition.EffectiveTimeout;
        var floor = minimumInterval ?? CheckDefinition.MinInterval;
        _interval = definition.Interval;
        if (_interval < floor)
        {
            // Consul raises a short interval rather than refusing the check: too-frequent checks could fork-bomb the host.
            LogIntervalRaised(definition.CheckID, definition.Interval, floor);
            _interval = floor;
        }

        _thresholds = new StatusThresholds(definition.SuccessBeforePassing, definition.FailuresBeforeCritical);
        _current = new CheckResult(definition.Status, string.Empty);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The last reported result (the initial status with empty output before the first).</summary>
    public CheckResult Current => Volatile.Read(ref _current);

    /// <summary>The interval actually used, after the floor.</summary>
    public TimeSpan Interval => _interval;

    /// <summary>Stops the loop (cancelling a run in progress, killing a script) and waits for it to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        await _loop.ConfigureAwait(false);
        (_probe as IDisposable)?.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            var stagger = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * Math.Min(_interval.Ticks, MaxStagger.Ticks)));
            await Task.Delay(stagger, token).ConfigureAwait(false);
            while (true)
            {
                var result = await RunOnceAsync(token).ConfigureAwait(false);
                Report(result, token);
                await Task.Delay(_interval, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    private async Task<CheckResult> RunOnceAsync(CancellationToken token)
    {
        var run = _probe.ProbeAsync(token);
        try
        {
            // Probes bound themselves; this backstop keeps a misbehaving one from stalling the schedule.
            return await run.WaitAsync(_timeout + ProbeGrace, token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogProbeOverran(_definition.CheckID, _timeout);
            // Observe the abandoned run's eventual fault so it is not reported as unobserved.
            _ = run.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return new CheckResult(HealthStatus.Critical, $"Timed out ({CheckOutput.GoDuration(_timeout)}) running check");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogProbeFailed(_definition.CheckID, ex);
            return new CheckResult(HealthStatus.Critical, ex.Message);
        }
    }

    private void Report(CheckResult result, CancellationToken token)
    {
        if (!_thresholds.Admit(result, out var count, out var threshold))
        {
            LogHeldBack(_definition.CheckID, result.Status, count, threshold);
            return;
        }

        if (result == _current || token.IsCancellationRequested)
        {
            return;
        }

        LogStatusChanged(_definition.CheckID, _current.Status, result.Status);
        Volatile.Write(ref _current, result);
        try
        {
            _onChange(result);
        }
        catch (Exception ex)
        {
            LogCallbackFailed(_definition.CheckID, ex);
        }
    }
}
