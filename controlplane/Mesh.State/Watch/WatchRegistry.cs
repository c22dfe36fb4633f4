using System.Collections.Concurrent;

namespace Mesh.State.Watch;

/// <summary>
/// Wakes exactly the readers of what changed. A reader registers interest in a key of a table (exact) or in a key
/// prefix, and gets a task that completes on the next commit touching it. A commit reports the keys it touched; for
/// each, the registry completes the exact slot and the slot of every watched prefix of the key.
/// </summary>
/// <remarks>
/// Ordering makes this race-free together with <see cref="StateStore"/>: a writer publishes the new state with a
/// full fence and fires slots second; a reader registers (under a lock, also a fence) and reads the state second. A
/// reader that read a state older than the one current after its registration must retry (the store checks this),
/// so no wake-up is ever lost. Slots are reference counted so a key that is watched once and never written does not
/// stay in memory. Prefix slots are found by probing only the prefix lengths anyone has watched, over spans of the
/// written key, so a write costs no allocation and no more probes than there are distinct watched lengths.
/// </remarks>
public sealed class WatchRegistry
{
    private readonly ConcurrentDictionary<string, TableWatches> _tables = new(StringComparer.Ordinal);
    private long _fired;

    /// <summary>Number of slots completed so far; for metrics.</summary>
    public long Fired => Interlocked.Read(ref _fired);

    /// <summary>Number of keys and prefixes that have at least one waiting reader.</summary>
    public int Slots => _tables.Values.Sum(t => t.Exact.Count + t.Prefix.Count);

    internal Registration Register(string table, string key, bool prefix)
    {
        var watches = _tables.GetOrAdd(table, static _ => new TableWatches());
        if (prefix) watches.AddPrefixLength(key.Length);
        var map = prefix ? watches.Prefix : watches.Exact;
        while (true)
        {
            var slot = map.GetOrAdd(key, static _ => new Slot());
            lock (slot)
            {
                if (slot.Dead) continue;
                slot.Waiters++;
                return new Registration(map, key, slot);
            }
        }
    }

    private static void Release(ConcurrentDictionary<string, Slot> map, string key, Slot slot)
    {
        // A fired slot is already out of the map and nobody registers on it again: its count no longer matters, and
        // skipping the lock keeps thousands of woken readers of one key from queueing on it.
        if (Volatile.Read(ref slot.Dead)) return;
        lock (slot)
        {
            if (--slot.Waiters > 0 || slot.Dead) return;
            slot.Dead = true;
            map.TryRemove(new KeyValuePair<string, Slot>(key, slot));
        }
    }

    /// <summary>Wakes the readers of <paramref name="key"/> in <paramref name="table"/> and of every prefix of it.</summary>
    public void Fire(string table, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!_tables.TryGetValue(table, out var watches)) return;
        if (watches.Exact.TryRemove(key, out var exact)) Complete(exact);
        foreach (var length in watches.PrefixLengths)
        {
            if (length > key.Length) break;
            if (watches.PrefixBySpan.TryRemove(key.AsSpan(0, length), out _, out var slot)) Complete(slot);
        }
    }

    /// <summary>Wakes every reader of every table: used after a restore replaced the whole state, and on shutdown.</summary>
    public void FireAll()
    {
        foreach (var watches in _tables.Values)
        {
            foreach (var key in watches.Exact.Keys)
                if (watches.Exact.TryRemove(key, out var slot)) Complete(slot);
            foreach (var key in watches.Prefix.Keys)
                if (watches.Prefix.TryRemove(key, out var slot)) Complete(slot);
        }
    }

    private void Complete(Slot slot)
    {
        lock (slot) slot.Dead = true;
        Interlocked.Increment(ref _fired);
        slot.Changed.TrySetResult();
    }

    private sealed class TableWatches
    {
        public readonly ConcurrentDictionary<string, Slot> Exact = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<string, Slot> Prefix = new(StringComparer.Ordinal);
        public readonly ConcurrentDictionary<string, Slot>.AlternateLookup<ReadOnlySpan<char>> PrefixBySpan;
        private int[] _prefixLengths = [];

        public TableWatches() => PrefixBySpan = Prefix.GetAlternateLookup<ReadOnlySpan<char>>();

        /// <summary>Ascending lengths of every prefix ever watched in this table (a set that only grows).</summary>
        public int[] PrefixLengths => Volatile.Read(ref _prefixLengths);

        public void AddPrefixLength(int length)
        {
            while (true)
            {
                var current = Volatile.Read(ref _prefixLengths);
                var at = Array.BinarySearch(current, length);
                if (at >= 0) return;
                at = ~at;
                var next = new int[current.Length + 1];
                Array.Copy(current, next, at);
                next[at] = length;
                Array.Copy(current, at, next, at + 1, current.Length - at);
                if (Interlocked.CompareExchange(ref _prefixLengths, next, current) == current) return;
            }
        }
    }

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
        private readonly ConcurrentDictionary<string, Slot> _map;
        private readonly string _key;
        private readonly Slot _slot;
        private int _released;

        internal Registration(ConcurrentDictionary<string, Slot> map, string key, Slot slot)
        {
            _map = map;
            _key = key;
            _slot = slot;
        }

        public Task Changed => _slot.Changed.Task;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) Release(_map, _key, _slot);
        }
    }
}
