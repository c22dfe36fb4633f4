using System.Text.Json;
using Mesh.Cli.Http;
using Mesh.Cli.Text;

namespace Mesh.Cli.Locks;

/// <summary>
/// A counting semaphore under a KV prefix, with the algorithm and key layout of Consul's <c>api.Semaphore</c>:
/// each contender holds <c>&lt;prefix&gt;/&lt;session&gt;</c> with its session (behavior <c>delete</c>, so a dead
/// contender's key vanishes), and <c>&lt;prefix&gt;/.lock</c> holds <c>{"Limit":n,"Holders":{...}}</c>, updated by
/// check-and-set; holders whose contender key is gone are pruned.
/// </summary>
internal sealed class KvSemaphore : ILockHandle
{
    /// <summary>The flags value that marks semaphore keys (Consul's <c>SemaphoreFlagValue</c>).</summary>
    public const ulong FlagValue = 0xe0f69a2baa414de0;

    /// <summary>The coordination key's name within the prefix (Consul's <c>DefaultSemaphoreKey</c>).</summary>
    public const string LockKeyName = ".lock";

    private readonly ApiClient _client;
    private readonly LockOptions _options;
    private readonly int _limit;
    private readonly LockTimings _timings;
    private SessionKeeper? _session;
    private CancellationTokenSource? _monitorStop;

    /// <exception cref="LockException">The prefix is empty or the limit not positive.</exception>
    public KvSemaphore(ApiClient client, LockOptions options, int limit, LockTimings timings)
    {
        if (options.Key.Length == 0) throw new LockException("missing prefix");
        if (limit <= 0) throw new LockException("semaphore limit must be positive");
        _client = client;
        _options = options;
        _limit = limit;
        _timings = timings;
    }

    private string Prefix => _options.Key;
    private string LockKey => GoPath.Join(Prefix, LockKeyName);

    public async Task<Task?> AcquireAsync(CancellationToken stop)
    {
        SessionKeeper session;
        try
        {
            session = await SessionKeeper.CreateAsync(_client, _options.SessionName, _timings.SessionTtl, _timings.LockDelay, "delete", stop);
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
            bool made;
            try
            {
                made = await _client.Kv.AcquireAsync(ContenderEntry(session.Id), stop);
            }
            catch (ApiException e)
            {
                throw new LockException($"failed to make contender entry: {e.Message}", inner: e);
            }
            if (!made) throw new LockException("failed to make contender entry: the agent refused the acquire");

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
                    query = query with { WaitTime = _options.WaitTime - elapsed };
                }
                attempts++;

                List<KvPair>? pairs;
                QueryMeta meta;
                try
                {
                    (pairs, meta) = await _client.Kv.ListAsync(Prefix, query, stop);
                }
                catch (ApiException e)
                {
                    throw new LockException($"failed to read prefix: {e.Message}", inner: e);
                }
                var lockPair = FindLock(pairs);
                if (lockPair.Flags != FlagValue) throw new LockException("Existing key does not match semaphore use");
                var state = Decode(lockPair);
                if (state.Limit != _limit)
                    throw new LockException($"semaphore limit conflict (lock: {state.Limit}, local: {_limit})");
                PruneDeadHolders(state, pairs);
                if (state.Holders.Count >= state.Limit)
                {
                    query = query with { WaitIndex = meta.LastIndex };
                    continue;
                }

                state.Holders[session.Id] = true;
                bool set;
                try
                {
                    set = await _client.Kv.CasAsync(Encode(state, lockPair.ModifyIndex), stop);
                }
                catch (ApiException e)
                {
                    throw new LockException($"failed to update lock: {e.Message}", inner: e);
                }
                if (!set) continue; // another contender updated the record first: read it again
                held = true;
                break;
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
                // The session's "delete" behavior removes the contender key with it.
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
        var session = _session ?? throw new LockException("Semaphore not held");
        _session = null;
        await _monitorStop!.CancelAsync();
        try
        {
            while (true)
            {
                var (pair, _) = await _client.Kv.GetAsync(LockKey, null, ct);
                pair ??= new KvPair();
                var state = Decode(pair);
                if (!state.Holders.Remove(session.Id)) break;
                if (await _client.Kv.CasAsync(Encode(state, pair.ModifyIndex), ct)) break;
            }
            await _client.Kv.DeleteAsync(GoPath.Join(Prefix, session.Id), ct);
        }
        catch (ApiException e)
        {
            throw new LockException(e.Message, inner: e);
        }
        finally
        {
            await session.DestroyAsync(ct);
        }
    }

    public async Task CleanupAsync(CancellationToken ct)
    {
        if (_session is not null) throw new LockException("Semaphore already held");
        List<KvPair>? pairs;
        try
        {
            (pairs, _) = await _client.Kv.ListAsync(Prefix, null, ct);
        }
        catch (ApiException e)
        {
            throw new LockException($"failed to read prefix: {e.Message}", inner: e);
        }
        var lockPair = FindLock(pairs);
        if (lockPair.ModifyIndex == 0) return;
        if (lockPair.Flags != FlagValue) throw new LockException("Existing key does not match semaphore use");
        var state = Decode(lockPair);
        PruneDeadHolders(state, pairs);
        if (state.Holders.Count > 0) throw new LockException("Semaphore in use", inUse: true);
        bool removed;
        try
        {
            removed = await _client.Kv.DeleteCasAsync(LockKey, lockPair.ModifyIndex, ct);
        }
        catch (ApiException e)
        {
            throw new LockException($"failed to remove semaphore: {e.Message}", inner: e);
        }
        if (!removed) throw new LockException("Semaphore in use", inUse: true);
    }

    /// <summary>Completes when this session is no longer among the live holders.</summary>
    private async Task MonitorAsync(string session, CancellationToken ct)
    {
        var query = new QueryOptions { RequireConsistent = true };
        var retries = _options.MonitorRetries;
        while (true)
        {
            List<KvPair>? pairs;
            QueryMeta meta;
            try
            {
                (pairs, meta) = await _client.Kv.ListAsync(Prefix, query, ct);
            }
            catch (ApiException e) when (retries > 0 && e.IsRetryable)
            {
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
            SemaphoreState state;
            try
            {
                state = Decode(FindLock(pairs));
            }
            catch (LockException)
            {
                return;
            }
            PruneDeadHolders(state, pairs);
            if (!state.Holders.ContainsKey(session)) return;
            query = query with { WaitIndex = meta.LastIndex };
            retries = _options.MonitorRetries;
        }
    }

    private KvPair FindLock(List<KvPair>? pairs) =>
        pairs?.FirstOrDefault(p => p.Key == LockKey) ?? new KvPair { Flags = FlagValue };

    private SemaphoreState Decode(KvPair pair)
    {
        if (pair.Value is null || pair.Value.Length == 0) return new SemaphoreState { Limit = _limit };
        try
        {
            var state = JsonSerializer.Deserialize(pair.Value, ApiJson.Compact.SemaphoreState) ?? new SemaphoreState { Limit = _limit };
            // Re-home the holders in an ordinal map: Go marshals map keys sorted, and so must we.
            return state with { Holders = new SortedDictionary<string, bool>(state.Holders ?? new(), StringComparer.Ordinal) };
        }
        catch (JsonException e)
        {
            throw new LockException($"lock decoding failed: {e.Message}", inner: e);
        }
    }

    private KvPair Encode(SemaphoreState state, ulong modifyIndex) => new()
    {
        Key = LockKey,
        Value = JsonSerializer.SerializeToUtf8Bytes(state, ApiJson.Compact.SemaphoreState),
        Flags = FlagValue,
        ModifyIndex = modifyIndex,
    };

    private KvPair ContenderEntry(string session) => new()
    {
        Key = GoPath.Join(Prefix, session),
        Session = session,
        Flags = FlagValue,
    };

    private static void PruneDeadHolders(SemaphoreState state, List<KvPair>? pairs)
    {
        var alive = new HashSet<string>((pairs ?? []).Where(p => p.Session.Length > 0).Select(p => p.Session), StringComparer.Ordinal);
        foreach (var holder in state.Holders.Keys.Where(h => !alive.Contains(h)).ToList())
            state.Holders.Remove(holder);
    }
}
