using Mesh.State.Tables;

namespace Mesh.State;

// Config entries: set (optionally check-and-set on ModifyIndex) and delete (optionally check-and-set). A write that
// changes nothing moves no index.
internal sealed partial class WriteTxn
{
    /// <summary>Creates or replaces an entry. With <paramref name="casIndex"/>, only if its ModifyIndex is that (0: only if absent).</summary>
    public bool ConfigEntrySet(ConfigEntryRow entry, ulong? casIndex)
    {
        var existing = Root.ConfigEntries.Get(entry.RowKey);
        if (casIndex is { } expected && (existing?.ModifyIndex ?? 0) != expected) return false;
        if (existing is not null && existing.Json == entry.Json) return true;
        Root = Root with
        {
            ConfigEntries = Root.ConfigEntries.Set(entry.RowKey, entry with { CreateIndex = existing?.CreateIndex ?? Index, ModifyIndex = Index }),
        };
        Changed(TableNames.ConfigEntries, entry.RowKey);
        return true;
    }

    /// <summary>Deletes an entry (absent is fine). With <paramref name="casIndex"/>, only if its ModifyIndex is that.</summary>
    public bool ConfigEntryDelete(string kind, string name, ulong? casIndex)
    {
        var key = ConfigEntryRow.KeyOf(kind, name);
        var existing = Root.ConfigEntries.Get(key);
        if (casIndex is { } expected && (existing?.ModifyIndex ?? 0) != expected) return false;
        if (existing is null) return true;
        Root = Root with { ConfigEntries = Root.ConfigEntries.Remove(key) };
        Changed(TableNames.ConfigEntries, key);
        return true;
    }
}
