using Mesh.State.Commands;
using Mesh.State.Tables;
using Mesh.State.Watch;

namespace Mesh.State;

/// <summary>
/// A consistent, immutable read of the store at one index. Every read takes an optional <see cref="WatchSet"/> and adds
/// to it exactly what it looked at, so a blocking query wakes only when that changes.
/// </summary>
public sealed partial class StateView
{
    private readonly StoreRoot _root;

    internal StateView(StoreRoot root) => _root = root;

    internal StoreRoot Root => _root;

    /// <summary>The last log index applied to this view.</summary>
    public ulong Index => _root.Index;

    /// <summary>The highest index among <paramref name="tables"/>.</summary>
    public ulong TableIndex(params ReadOnlySpan<string> tables)
    {
        ulong max = 0;
        foreach (var t in tables) max = Math.Max(max, _root.TableIndex(t));
        return max;
    }

    /// <summary>
    /// One key, watched alone. The index is the key's <c>ModifyIndex</c> when it exists (so a blocking read returns
    /// only when this key changes), or the KV table's when it does not, as Consul reports them.
    /// </summary>
    public (ulong Index, KvEntry? Entry) KvGet(string key, WatchSet? ws = null)
    {
        ws?.Key(TableNames.Kvs, key);
        var entry = _root.Kv.Get(key);
        return (entry?.ModifyIndex ?? TableIndex(TableNames.Kvs, TableNames.Tombstones), entry);
    }

    /// <summary>Every entry under <paramref name="prefix"/>, with the highest index among them and their tombstones.</summary>
    public (ulong Index, IReadOnlyList<KvEntry> Entries) KvList(string prefix, WatchSet? ws = null)
    {
        ws?.Prefix(TableNames.Kvs, prefix);
        var entries = _root.Kv.Prefix(prefix).ToList();
        return (PrefixIndex(prefix, entries), entries);
    }

    /// <summary>
    /// Keys under <paramref name="prefix"/>; with a <paramref name="separator"/>, keys that go on past the separator
    /// are folded into one entry ending at it (as a directory listing).
    /// </summary>
    public (ulong Index, IReadOnlyList<string> Keys) KvKeys(string prefix, string? separator, WatchSet? ws = null)
    {
        ws?.Prefix(TableNames.Kvs, prefix);
        var entries = _root.Kv.Prefix(prefix).ToList();
        var keys = new List<string>(entries.Count);
        string? last = null;
        foreach (var e in entries)
        {
            var key = e.Key;
            if (!string.IsNullOrEmpty(separator))
            {
                var at = key.IndexOf(separator, prefix.Length, StringComparison.Ordinal);
                if (at >= 0) key = key[..(at + separator.Length)];
            }
            if (key == last) continue;
            keys.Add(key);
            last = key;
        }
        return (PrefixIndex(prefix, entries), keys);
    }

    private ulong PrefixIndex(string prefix, List<KvEntry> entries)
    {
        ulong max = 0;
        foreach (var e in entries) max = Math.Max(max, e.ModifyIndex);
        foreach (var t in _root.Tombstones.Prefix(prefix)) max = Math.Max(max, t.Index);
        return max != 0 ? max : TableIndex(TableNames.Kvs, TableNames.Tombstones);
    }

    /// <summary>When <paramref name="key"/> may be locked again after losing a lock with a session; null if free now.</summary>
    public DateTime? KvLockDelay(string key, DateTime now) =>
        _root.LockDelays.TryGetValue(key, out var until) && until > now ? until : null;

    /// <summary>Tombstones, oldest first by index (for the reaper).</summary>
    public IEnumerable<Tombstone> Tombstones() => _root.Tombstones.All();

    /// <summary>One session.</summary>
    public (ulong Index, Session? Session) SessionGet(string id, WatchSet? ws = null)
    {
        ws?.Key(TableNames.Sessions, id);
        return (TableIndex(TableNames.Sessions), _root.Sessions.Get(id));
    }

    /// <summary>Every session.</summary>
    public (ulong Index, IReadOnlyList<Session> Sessions) SessionList(WatchSet? ws = null)
    {
        ws?.Prefix(TableNames.Sessions, "");
        return (TableIndex(TableNames.Sessions), _root.Sessions.All().ToList());
    }

    /// <summary>Sessions of one node.</summary>
    public (ulong Index, IReadOnlyList<Session> Sessions) SessionsOfNode(string node, WatchSet? ws = null)
    {
        ws?.Key(TableNames.SessionsByNode, node);
        return (TableIndex(TableNames.Sessions), _root.Sessions.All().Where(s => s.Node == node).ToList());
    }

    /// <summary>One node, or null.</summary>
    public Node? GetNode(string name) => _root.Nodes.Get(name);

    /// <summary>Every node.</summary>
    public IReadOnlyList<Node> Nodes() => _root.Nodes.All().ToList();

    /// <summary>One check of a node, or null.</summary>
    public HealthCheck? GetCheck(string node, string checkId) => _root.Checks.Get(HealthCheck.RowKeyOf(node, checkId));

    /// <summary>
    /// Runs a transaction of read-only KV operations (<c>get</c>, <c>get-tree</c>, <c>check-*</c>) against this view.
    /// Write verbs are refused: writes go through the log.
    /// </summary>
    public CommandResult ReadTxn(IReadOnlyList<KvOp> ops)
    {
        ArgumentNullException.ThrowIfNull(ops);
        if (ops.Any(o => !KvVerbs.ReadOnly.Contains(o.Verb)))
            throw new ArgumentException("a read transaction may hold only read verbs", nameof(ops));
        return KvOperations.RunTxn(new WriteTxn(_root, _root.Index, DateTime.UtcNow), ops);
    }

    /// <summary>Counts of rows per table, for metrics.</summary>
    public IReadOnlyDictionary<string, int> RowCounts() => new Dictionary<string, int>
    {
        [TableNames.Kvs] = _root.Kv.Count,
        [TableNames.Tombstones] = _root.Tombstones.Count,
        [TableNames.Sessions] = _root.Sessions.Count,
        [TableNames.Nodes] = _root.Nodes.Count,
        [TableNames.Checks] = _root.Checks.Count,
        [TableNames.Services] = _root.Services.Count,
        [TableNames.PreparedQueries] = _root.PreparedQueries.Count,
    };
}
