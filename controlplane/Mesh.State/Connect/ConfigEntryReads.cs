using Mesh.State.Tables;
using Mesh.State.Watch;

namespace Mesh.State;

// Config entry reads. Every read reports the table's index: an entry's answer may depend on others (a chain reads
// several kinds), and one index that moves on any change is what Consul reports too.
public sealed partial class StateView
{
    /// <summary>One entry, or null.</summary>
    public (ulong Index, ConfigEntryRow? Entry) ConfigEntryGet(string kind, string name, WatchSet? ws = null)
    {
        var key = ConfigEntryRow.KeyOf(kind, name);
        ws?.Key(TableNames.ConfigEntries, key);
        return (TableIndex(TableNames.ConfigEntries), _root.ConfigEntries.Get(key));
    }

    /// <summary>Every entry of <paramref name="kind"/> (every entry when null), in kind then name order.</summary>
    public (ulong Index, IReadOnlyList<ConfigEntryRow> Entries) ConfigEntryList(string? kind = null, WatchSet? ws = null)
    {
        var prefix = kind is null ? "" : kind + "/";
        ws?.Prefix(TableNames.ConfigEntries, prefix);
        return (TableIndex(TableNames.ConfigEntries), _root.ConfigEntries.Prefix(prefix).ToList());
    }
}
