using Mesh.State.Tables;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Checks;

/// <summary>
/// Consul's TTL check: the application reports its own status with <see cref="Update"/>, and each update restarts the
/// TTL; when the TTL passes without one the check turns critical with "TTL expired" (plus the last output, if any).
/// </summary>
internal sealed partial class TtlCheck : IDisposable
{
    private readonly CheckDefinition _definition;
    private readonly Action<CheckResult> _onChange;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private CheckResult _current;
    private string _lastOutput = string.Empty;
    private long _deadline;
    private bool _disposed;

    /// <param name="definition">A valid TTL check.</param>
    /// <param name="onChange">Told each change of status or output; called under the check's lock, so keep it short.</param>
    /// <param name="logger">Where expiries are logged.</param>
    /// <param name="time">The clock; the system clock unless a test supplies one.</param>
    public TtlCheck(CheckDefinition definition, Action<CheckResult> onChange, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(onChange);
        ArgumentNullException.ThrowIfNull(logger);
        if (definition.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(definition));
        }

        if (!definition.IsTtl)
        {
            throw new ArgumentException("not a TTL check", nameof(definition));
        }

        _definition = definition;
        _onChange = onChange;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _current = new CheckResult(definition.Status, string.Empty);
        lock (_gate)
        {
            _deadline = _time.GetTimestamp() + ToTimestampTicks(definition.TTL);
            _timer = _time.CreateTimer(static state => ((TtlCheck)state!).OnTimer(), this, definition.TTL, System.Threading.Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The current status and output.</summary>
    public CheckResult Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>
    /// Sets the status and output (the output cut to 4 KiB as Consul does) and restarts the TTL. Returns the output
    /// as stored.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="status"/> is not passing, warning or critical.</exception>
    public string Update(string status, string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!HealthStatus.IsValid(status))
        {
            throw new ArgumentException($"Bad check status {status}", nameof(status));
        }

        var stored = CheckOutput.TruncateHead(output);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _lastOutput = stored;
            _deadline = _time.GetTimestamp() + ToTimestampTicks(_definition.TTL);
            _timer.Change(_definition.TTL, System.Threading.Timeout.InfiniteTimeSpan);
            Set(new CheckResult(status, stored));
        }

        return stored;
    }

    /// <summary>Stops the TTL timer; no further callbacks.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer.Dispose();
        }
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            // A callback queued before Update moved the deadline, or a timer firing a hair early, is not an expiry:
            // arm the timer for what is left so the check still lapses on time.
            var left = _time.GetElapsedTime(_time.GetTimestamp(), _deadline);
            if (left > TimeSpan.Zero)
            {
                _timer.Change(left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left, System.Threading.Timeout.InfiniteTimeSpan);
                return;
            }

            LogExpired(_definition.CheckID, _definition.TTL);
            var output = _lastOutput.Length == 0 ? "TTL expired" : $"TTL expired (last output before timeout follows): {_lastOutput}";
            Set(new CheckResult(HealthStatus.Critical, output));
        }
    }

    private void Set(CheckResult result)
    {
        if (result == _current)
        {
            return;
        }

        _current = result;
        try
        {
            _onChange(result);
        }
        catch (Exception ex)
        {
            LogCallbackFailed(_definition.CheckID, ex);
        }
    }

    private long ToTimestampTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
