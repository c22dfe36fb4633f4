using System.Runtime.CompilerServices;
using Mesh.Connect.DiscoveryChain;
using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.State;
using Mesh.State.Watch;
using Mesh.State.Tables;

namespace Mesh.Xds.ProxyCfg;

/// <summary>The config entries every proxy's snapshot reads, parsed: chain entries and intentions.</summary>
/// <param name="Index">The config-entries table index they are as of.</param>
/// <param name="Entries">Entries for chains, protocols and proxy defaults.</param>
/// <param name="Intentions">Every intention.</param>
internal sealed record MeshConfig(ulong Index, ChainEntries Entries, IntentionSet Intentions);

/// <summary>
/// Parses config entries once per change of the table, for every proxy at once: ten thousand proxies waking on one
/// write read the same <see cref="MeshConfig"/> instead of each parsing every entry. Rows are immutable and survive
/// commits that do not touch them, so each row is parsed once in its life.
/// </summary>
internal sealed class MeshConfigCache
{
    private readonly ConditionalWeakTable<ConfigEntryRow, ConfigEntry?> _parsed = new();
    // Kept per row too, so an unchanged entry's rules are the same objects in every set and snapshots compare them by reference.
    private readonly ConditionalWeakTable<ConfigEntryRow, IReadOnlyList<IntentionRule>> _rules = new();
    private readonly Lock _rebuild = new();
    private volatile MeshConfig? _current;

    /// <summary>Rows that could not be parsed (written by another version): left out, and counted.</summary>
    public long Unreadable => Interlocked.Read(ref _unreadable);

    private long _unreadable;

    /// <summary>The entries as of <paramref name="view"/> (or newer), registering a watch on the table in <paramref name="ws"/>.</summary>
    public MeshConfig Current(StateView view, WatchSet? ws)
    {
        var (index, rows) = view.ConfigEntryList(null, ws);
        var current = _current;
        if (current is not null && current.Index >= index) return current;
        lock (_rebuild)
        {
            current = _current;
            if (current is not null && current.Index >= index) return current;
            var entries = new List<ConfigEntry>(rows.Count);
            var intentions = new List<IReadOnlyList<IntentionRule>>();
            foreach (var row in rows)
            {
                if (_parsed.GetValue(row, Parse) is not { } entry) continue;
                entries.Add(entry);
                if (entry is ServiceIntentionsEntry si)
                    intentions.Add(_rules.GetValue(row, r => IntentionSet.RulesOf(si, r.CreateIndex, r.ModifyIndex)));
            }
            current = new MeshConfig(index, new ChainEntries(entries), new IntentionSet(intentions));
            _current = current;
            return current;
        }
    }

    private ConfigEntry? Parse(ConfigEntryRow row)
    {
        try
        {
            return EntryCodec.FromStored(row.Json);
        }
        catch (Exception ex) when (ex is ConfigEntryException or System.Text.Json.JsonException)
        {
            Interlocked.Increment(ref _unreadable);
            return null;
        }
    }
}
