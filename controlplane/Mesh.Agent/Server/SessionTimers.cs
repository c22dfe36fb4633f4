using Mesh.State.Text;
using Mesh.Agent.Config;
using Mesh.State;
using Mesh.State.Commands;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Server;

/// <summary>
/// TTL timers of sessions, run by the leader. A session with a TTL is destroyed (through the log) when it has not
/// been renewed for twice its TTL; Consul doubles the TTL the same way to absorb clock skew and renewal jitter.
/// </summary>
internal sealed partial class SessionTimers : IDisposable
{
    /// <summary>Factor applied to a session's TTL before it expires.</summary>
    public const int TtlMultiplier = 2;

    private readonly Dictionary<string, ITimer> _timers = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly StateWriter _writer;
    private readonly StateStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public SessionTimers(StateWriter writer, StateStore store, TimeProvider time, ILogger<SessionTimers> logger)
    {
        _writer = writer;
        _store = store;
        _time = time;
        _logger = logger;
    }

    /// <summary>Number of running timers.</summary>
    public int Count
    {
        get { lock (_gate) return _timers.Count; }
    }

    /// <summary>Starts timers for every session of <paramref name="view"/> that has a TTL (on gaining leadership).</summary>
    public void Initialize(StateView view)
    {
        foreach (var s in view.SessionList().Sessions) Reset(s.ID, s.TTL);
    }

    /// <summary>(Re)starts the timer of session <paramref name="id"/>; a TTL of "" clears it.</summary>
    public void Reset(string id, string ttl)
    {
        if (!GoDuration.TryParse(ttl, out var d) || d <= TimeSpan.Zero)
        {
            Stop(id);
            return;
        }
        // Replacing a timer is one step under the gate: concurrent renewals of one session leave exactly one timer,
        // and a timer that was replaced can tell (see ExpireAsync) and does nothing.
        lock (_gate)
        {
            ITimer? timer = null;
            timer = _time.CreateTimer(_ => _ = ExpireAsync(id, timer!), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (_timers.Remove(id, out var old)) old.Dispose();
            _timers[id] = timer;
            timer.Change(d * TtlMultiplier, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Stops the timer of session <paramref name="id"/>.</summary>
    public void Stop(string id)
    {
        lock (_gate)
        {
            if (_timers.Remove(id, out var t)) t.Dispose();
        }
    }

    private async Task ExpireAsync(string id, ITimer timer)
    {
        lock (_gate)
        {
            // Superseded by a renewal (or stopped) after this timer fired: the session is alive.
            if (!_timers.TryGetValue(id, out var current) || !ReferenceEquals(current, timer)) return;
            _timers.Remove(id);
        }
        timer.Dispose();
        // A session invalidated some other way (a failing check, a destroy) needs nothing more.
        if (_store.View().SessionGet(id).Session is null) return;
        try
        {
            await _writer.ApplyAsync(new SessionDestroyCommand(id), CancellationToken.None).ConfigureAwait(false);
            LogExpired(id);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The session stays until the next leader re-arms its timer; nothing is lost.
            LogExpireFailed(id, ex);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var t in _timers.Values) t.Dispose();
            _timers.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "session {Id} expired: TTL passed without a renewal")]
    private partial void LogExpired(string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "failed to invalidate expired session {Id}")]
    private partial void LogExpireFailed(string id, Exception ex);
}
