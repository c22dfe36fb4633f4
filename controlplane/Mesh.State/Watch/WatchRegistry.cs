using System.Collections.Concurrent;

namespace Mesh.State.Watch;

/// <summary>
/// Wakes exactly the readers of what changed. A reader registers interest in a key of a table (exact) or in a key
/// prefix, and gets a task that completes on the next commit touching it. A commit reports the keys it touched; for
/// each, the registry completes the exact slot and the slot of every prefix of the key.
/// </summary>
/// <remarks>
/// Ordering makes this race-free together with <see cref="StateStore"/>: a writer publishes the new state first and
/// fires slots second; a reader registers first and reads the state second. A reader that read a state older than the
/// one current after its registration must retry (the store checks this), so no wake-up is ever lost.
/// Slots are reference counted so a key that is watched once and never written does not stay in memory.
/// </remarks>
public sealed class WatchRegistry
{
    private readonly ConcurrentDictionary<TableKey, Slot> _exact = new();
    private readonly ConcurrentDictionary<TableKey, Slot> _prefix = new();
    private readonly ConcurrentDictionary<string, int> _prefixCount = new(StringComparer.Ordinal);
    private long _fired;

    /// <summary>Number of slots completed so far; for metrics.</summary>
    public long Fired => Interlocked.Read(ref _fired);

    /// <summary>Number of keys and prefixes that have at least one waiting reader.</summary>
    public int Slots => _exact.Count + _prefix.Count;

    internal Registration Register(string table, string key, bool prefix)
    {
        var map = prefix ? _prefix : _exact;
        var tk = new TableKey(table, key);
        while (true)
        {
            var slot = map.GetOrAdd(tk, static _ => new Slot());
            lock (slot)
            {
                if (slot.Dead) continue;
                if (slot.Waiters++ == 0 && prefix) _prefixCount.AddOrUpdate(table, 1, static (_, n) => n + 1);
                return new Registration(this, map, tk, slot, prefix);
            }
        }
    }

    private void Release(ConcurrentDictionary<TableKey, Slot> map, TableKey key, Slot slot, bool prefix)
    {
        // A fired slot is already out of the map and nobody registers on it again: its count no longer matters, and
        // skipping the lock keeps thousands of woken readers of one key from queueing on it.
        if (Volatile.Read(ref slot.Dead)) return;
        lock (slot)
        {
            if (--slot.Waiters > 0 || slot.Dead) return;
            slot.Dead = true;
            map.TryRemove(new KeyValuePair<TableKey, Slot>(key, slot));
            if (prefix) _prefixCount.AddOrUpdate(key.Table, 0, static (_, n) => n - 1);
        }
    }

    /// <summary>Wakes the readers of <paramref name="key"/> in <paramref name="table"/> and of every prefix of it.</summary>
    public void Fire(string table, string key)
    {
        FireSlot(_exact, new TableKey(table, key), prefix: false);
        if (_prefixCount.TryGetValue(table, out var n) && n > 0)
        {
            for (var len = 0; len <= key.Length; len++)
                FireSlot(_prefix, new TableKey(table, len == key.Length ? key : key[..len]), prefix: true);
        }
    }

    /// <summary>Wakes every reader of every table: used after a restore replaced the whole state.</summary>
    public void FireAll()
    {
        foreach (var key in _exact.Keys) FireSlot(_exact, key, prefix: false);
        foreach (var key in _prefix.Keys) FireSlot(_prefix, key, prefix: true);
    }

    private void FireSlot(ConcurrentDictionary<TableKey, Slot> map, TableKey key, bool prefix)
    {
        if (!map.TryRemove(key, out var slot)) return;
        lock (slot)
        {
            if (!slot.Dead && slot.Waiters > 0 && prefix) _prefixCount.AddOrUpdate(key.Table, 0, static (_, n) => n - 1);
            slot.Dead = true;
        }
        Interlocked.Increment(ref _fired);
        slot.Changed.TrySetResult();
    }

    internal readonly record struct TableKey(string Table, string Key);

    internal sealed class Slot
    {
        // Continuations run asynchronously so a commit never runs readers' code on the writer's thread.
        public readonly TaskCompletionSource Changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Waiters;
        public bool Dead;
    }

    /// <summary>One reader's interest in one slot; disposing it lets the slot go when nobody else waits.</summary>
    internal sealed class Registration : IDisposable
    {
        private readonly WatchRegistry _owner;
        private readonly ConcurrentDictionary<TableKey, Slot> _map;
        private readonly TableKey _key;
        private readonly Slot _slot;
        private readonly bool _prefix;
        private int _released;

        internal Registration(WatchRegistry owner, ConcurrentDictionary<TableKey, Slot> map, TableKey key, Slot slot, bool prefix)
        {
            _owner = owner; _map = map; _key = key; _slot = slot; _prefix = prefix;
        }

        public Task Changed => _slot.Changed.Task;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) _owner.Release(_map, _key, _slot, _prefix);
        }
    }
}
