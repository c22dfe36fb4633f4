using Mesh.Cli.Http;

namespace Mesh.Cli.Locks;

/// <summary>
/// A mutual-exclusion lock on one KV key held by a session, with the algorithm of Consul's <c>api.Lock</c>: wait
/// (blocking query) while another session holds the key, then <c>?acquire</c>; if refused with nobody holding it a
/// lock-delay is in effect, so pause and retry; once held, watch the key and report the lock lost when it changes
/// hands or the session goes.
/// </summary>
internal sealed class KvLock : ILockHandle
{
    /// <summary>The flags value that marks a key as a lock (Consul's <c>LockFlagValue</c>), to detect mixing with a semaphore.</summary>
    public const ulong FlagValue = 0x2ddccbc058a50c18;

    private readonly ApiClient _client;
    private readonly LockOptions _options;
    private readonly LockTimings _timings;
    private SessionKeeper? _session;
    private CancellationTokenSource? _monitorStop;

    public KvLock(ApiClient client, LockOptions options, LockTimings timings)
    {
        _client = client;
        _options = options;
        _timings = timings;
    }

    private string Key => _options.Key;

    public async Task<Task?> AcquireAsync(CancellationToken stop)
    {
        SessionKeeper session;
        try
        {
            session = await SessionKeeper.CreateAsync(_client, _options.SessionName, _timings.SessionTtl, _timings.LockDelay, null, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return null;
        }
        catch (ApiException e)
        {
            throw new LockException($"failed to create session: {e.Message}", inner: e);
        }

        var held = false;
        try
        {
            var query = new QueryOptions { WaitTime = _options.TryOnce ? _options.WaitTime : _timings.WaitTime };
            var started = DateTime.UtcNow;
            var attempts = 0;
            while (true)
            {
                if (stop.IsCancellationRequested) return null;
                if (_options.TryOnce && attempts > 0)
                {
                    var elapsed = DateTime.UtcNow - started;
                    if (elapsed > _options.WaitTime) return null;
                    // A blocking read must not outlast the remaining wait.
                    query = query with { WaitTime = _options.WaitTime - elapsed };
                }
                attempts++;

                var (pair, meta) = await ReadAsync(query, stop, "failed to read lock");
                if (pair is not null && pair.Flags != FlagValue) throw new LockException("Existing key does not match lock use");
                if (pair is not null && pair.Session == session.Id)
                {
                    held = true;
                    break;
                }
                if (pair is not null && pair.Session.Length > 0)
                {
                    query = query with { WaitIndex = meta.LastIndex };
                    continue;
                }

                bool locked;
                try
                {
                    locked = await _client.Kv.AcquireAsync(Entry(session.Id), stop);
                }
                catch (ApiException e)
                {
                    throw new LockException($"failed to acquire lock: {e.Message}", inner: e);
                }
                if (locked)
                {
                    held = true;
                    break;
                }

                // Refused: either someone got in first (wait on them) or a lock-delay is in effect (wait it out).
                query = query with { WaitIndex = 0 };
                (pair, meta) = await ReadAsync(query, stop, "failed to read lock");
                if (pair is not null && pair.Session.Length > 0)
                {
                    query = query with { WaitIndex = meta.LastIndex };
                    continue;
                }
                await Task.Delay(_timings.RetryTime, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return null;
        }
        finally
        {
            if (!held)
            {
                using var cleanup = new CancellationTokenSource(_timings.CleanupTimeout);
                await session.DestroyAsync(cleanup.Token);
            }
        }

        _session = session;
        _monitorStop = new CancellationTokenSource();
        return MonitorAsync(session.Id, _monitorStop.Token);
    }

    public async Task ReleaseAsync(CancellationToken ct)
    {
        var session = _session ?? throw new LockException("Lock not held");
        _session = null;
        await _monitorStop!.CancelAsync();
        try
        {
            await _client.Kv.ReleaseAsync(Entry(session.Id), ct);
        }
        catch (ApiException e)
        {
            throw new LockException($"failed to release lock: {e.Message}", inner: e);
        }
        finally
        {
            await session.DestroyAsync(ct);
        }
    }

    public async Task CleanupAsync(CancellationToken ct)
    {
        if (_session is not null) throw new LockException("Lock already held");
        KvPair? pair;
        try
        {
            (pair, _) = await _client.Kv.GetAsync(Key, null, ct);
        }
        catch (ApiException e)
        {
            throw new LockException($"failed to read lock: {e.Message}", inner: e);
        }
        if (pair is null) return;
        if (pair.Flags != FlagValue) throw new LockException("Existing key does not match lock use");
        if (pair.Session.Length > 0) throw new LockException("Lock in use", inUse: true);
        bool removed;
        try
        {
            removed = await _client.Kv.DeleteCasAsync(Key, pair.ModifyIndex, ct);
        }
        catch (ApiException e)
        {
            throw new LockException($"failed to remove lock: {e.Message}", inner: e);
        }
        if (!removed) throw new LockException("Lock in use", inUse: true);
    }

    /// <summary>Completes when the key is no longer held by <paramref name="session"/> (or stays unreadable).</summary>
    private async Task MonitorAsync(string session, CancellationToken ct)
    {
        var query = new QueryOptions { RequireConsistent = true };
        var retries = _options.MonitorRetries;
        while (true)
        {
            KvPair? pair;
            QueryMeta meta;
            try
            {
                (pair, meta) = await _client.Kv.GetAsync(Key, query, ct);
            }
            catch (ApiException e) when (retries > 0 && e.IsRetryable)
            {
                // Ride out a brief agent or leader outage without declaring the lock lost.
                retries--;
                query = query with { WaitIndex = 0 };
                try { await Task.Delay(_timings.MonitorRetryTime, ct); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            catch (ApiException)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (pair is null || pair.Session != session) return;
            query = query with { WaitIndex = meta.LastIndex };
            retries = _options.MonitorRetries;
        }
    }

    private async Task<(KvPair? Pair, QueryMeta Meta)> ReadAsync(QueryOptions query, CancellationToken ct, string what)
    {
        try
        {
            return await _client.Kv.GetAsync(Key, query, ct);
        }
        catch (ApiException e)
        {
            throw new LockException($"{what}: {e.Message}", inner: e);
        }
    }

    private KvPair Entry(string session) => new() { Key = Key, Session = session, Flags = FlagValue };
}

/// <summary>Parameters of a <see cref="KvLock"/> or <see cref="KvSemaphore"/>.</summary>
internal sealed record LockOptions
{
    /// <summary>The lock key (<see cref="KvLock"/>) or key prefix (<see cref="KvSemaphore"/>).</summary>
    public required string Key { get; init; }

    /// <summary>The session's name.</summary>
    public required string SessionName { get; init; }

    /// <summary>How many retryable monitor errors in a row are tolerated before the lock counts as lost.</summary>
    public int MonitorRetries { get; init; }

    /// <summary>Give up after <see cref="WaitTime"/> instead of waiting forever.</summary>
    public bool TryOnce { get; init; }

    /// <summary>With <see cref="TryOnce"/>: the whole time acquisition may take.</summary>
    public TimeSpan WaitTime { get; init; }
}
