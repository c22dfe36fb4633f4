using System.Collections.Concurrent;
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

    private readonly ConcurrentDictionary<string, ITimer> _timers = new(StringComparer.Ordinal);
    private readonly StateWriter _writer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public SessionTimers(StateWriter writer, TimeProvider time, ILogger<SessionTimers> logger)
    {
        _writer = writer;
        _time = time;
        _logger = logger;
    }

    /// <summary>Number of running timers.</summary>
    public int Count => _timers.Count;

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
        var due = d * TtlMultiplier;
        var timer = _time.CreateTimer(_ => _ = ExpireAsync(id), null, due, Timeout.InfiniteTimeSpan);
        if (_timers.TryGetValue(id, out var old)) old.Dispose();
        _timers[id] = timer;
    }

    /// <summary>Stops the timer of session <paramref name="id"/>.</summary>
    public void Stop(string id)
    {
        if (_timers.TryRemove(id, out var t)) t.Dispose();
    }

    private async Task ExpireAsync(string id)
    {
        _timers.TryRemove(id, out _);
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
        foreach (var t in _timers.Values) t.Dispose();
        _timers.Clear();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "session {Id} expired: TTL passed without a renewal")]
    private partial void LogExpired(string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "failed to invalidate expired session {Id}")]
    private partial void LogExpireFailed(string id, Exception ex);
}
