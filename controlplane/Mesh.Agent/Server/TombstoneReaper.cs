using Mesh.State;
using Mesh.State.Commands;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Server;

/// <summary>
/// Reaps KV tombstones older than the TTL, on the leader, through the log. Until a tombstone is reaped the index of
/// its prefix cannot go backwards; once it is older than any reasonable blocking query it has done its job.
/// </summary>
internal sealed partial class TombstoneReaper
{
    private readonly StateStore _store;
    private readonly StateWriter _writer;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly ILogger _logger;

    public TombstoneReaper(StateStore store, StateWriter writer, TimeProvider time, TimeSpan ttl, ILogger<TombstoneReaper> logger)
    {
        _store = store;
        _writer = writer;
        _time = time;
        _ttl = ttl;
        _logger = logger;
    }

    /// <summary>Reaps what has expired now; returns how many tombstones went.</summary>
    public async Task<int> ReapOnceAsync(CancellationToken cancellationToken)
    {
        var cutoff = _time.GetUtcNow().UtcDateTime - _ttl;
        ulong upTo = 0;
        var count = 0;
        foreach (var t in _store.View().Tombstones())
        {
            if (t.DeletedAt > cutoff) continue;
            upTo = Math.Max(upTo, t.Index);
            count++;
        }
        if (count == 0) return 0;
        await _writer.ApplyAsync(new TombstoneReapCommand(upTo), cancellationToken).ConfigureAwait(false);
        LogReaped(count, upTo);
        return count;
    }

    /// <summary>Reaps every <paramref name="interval"/> until cancelled.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try { await ReapOnceAsync(cancellationToken).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException) { LogFailed(ex); }
            }
        }
        catch (OperationCanceledException) { }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "reaped {Count} tombstones up to index {Index}")]
    private partial void LogReaped(int count, ulong index);

    [LoggerMessage(Level = LogLevel.Error, Message = "tombstone reaping failed")]
    private partial void LogFailed(Exception ex);
}
