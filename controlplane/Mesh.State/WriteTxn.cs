using System.Collections.Immutable;
using Mesh.State.Tables;

namespace Mesh.State;

/// <summary>
/// A write transaction at one log index. Operations evolve a private copy of the root; <see cref="StateStore"/>
/// publishes it on commit, and dropping the transaction rolls everything back. Store methods are written against
/// a transaction so that operations compose (a <c>/v1/txn</c> is many of them in one).
/// </summary>
internal sealed partial class WriteTxn
{
    private readonly HashSet<(string Table, string Key)> _changes = [];

    public WriteTxn(StoreRoot root, ulong index, DateTime now)
    {
        Root = root;
        Index = index;
        Now = now;
    }

    /// <summary>The root as changed so far.</summary>
    public StoreRoot Root { get; private set; }

    /// <summary>The log index of this transaction: every row it touches gets it as <c>ModifyIndex</c>.</summary>
    public ulong Index { get; }

    /// <summary>The proposer's clock, carried in the command so every server computes the same thing.</summary>
    public DateTime Now { get; }

    /// <summary>(table, key) pairs this transaction changed; watchers of them are woken on commit.</summary>
    public IReadOnlyCollection<(string Table, string Key)> Changes => _changes;

    private void Changed(string table, string key)
    {
        _changes.Add((table, key));
        if (Root.TableIndex(table) != Index)
            Root = Root with { TableIndexes = Root.TableIndexes.SetItem(table, Index) };
    }

    /// <summary>The root to publish: the changed tables, stamped with this index.</summary>
    public StoreRoot Commit() => Root with { Index = Index };
}
