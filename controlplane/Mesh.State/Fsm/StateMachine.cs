using System.Text.Json;
using Mesh.Consensus;
using Mesh.State.Commands;
using Mesh.State.Snapshot;
using Mesh.State.Tables;

namespace Mesh.State.Fsm;

/// <summary>
/// Applies log entries to the <see cref="StateStore"/>: the only code that writes to it. Each command runs in one
/// write transaction; a command that fails changes nothing (its index is still consumed, as in Raft).
/// </summary>
public sealed class StateMachine : IStateMachine
{
    private readonly StateStore _store;

    /// <summary>Drives <paramref name="store"/>.</summary>
    public StateMachine(StateStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public object? Apply(LogEntry entry)
    {
        Command command;
        try
        {
            command = CommandCodec.Decode(entry.Data.Span);
        }
        catch (JsonException ex)
        {
            _store.Skip(entry.Index);
            return new CommandResult(false, $"undecodable command: {ex.Message}");
        }

        var txn = _store.Begin(entry.Index, command.Now);
        CommandResult result;
        try
        {
            result = command switch
            {
                KvCommand kv => ApplyKv(txn, kv.Op),
                TxnCommand t => KvOperations.RunTxn(txn, t.Ops),
                SessionCreateCommand c => Created(txn.SessionCreate(c.Session)),
                SessionDestroyCommand d => Done(txn.SessionDestroy(d.ID)),
                TombstoneReapCommand r => Reap(txn, r.Index),
                RegisterNodeCommand n => Register(txn, n),
                CatalogRegisterCommand c => CatalogRegister(txn, c),
                CatalogDeregisterCommand d => CatalogDeregister(txn, d),
                PreparedQueryCreateCommand c => QueryCreate(txn, c.Query),
                PreparedQueryUpdateCommand u => QueryUpdate(txn, u.Query),
                PreparedQueryDeleteCommand d => QueryDelete(txn, d.ID),
                ConfigEntrySetCommand set => GraphMoved(txn, set.GraphIndex) ?? (txn.ConfigEntrySet(set.Entry, set.CasIndex) ? CommandResult.True : CommandResult.False),
                ConfigEntryDeleteCommand del => GraphMoved(txn, del.GraphIndex) ?? (txn.ConfigEntryDelete(del.Kind, del.Name, del.CasIndex) ? CommandResult.True : CommandResult.False),
                CaSetCommand ca => txn.CaSet(ca.Config, ca.Roots, ca.CasIndex) ? CommandResult.True : new CommandResult(false, "the CA configuration changed since it was read"),
                _ => new CommandResult(false, $"unknown command {command.GetType().Name}"),
            };
        }
        catch (StoreException ex)
        {
            result = new CommandResult(false, ex.Message);
        }

        if (result.Error is null && result.Errors is null) _store.Commit(txn);
        else _store.Skip(entry.Index);
        return result;
    }

    private static readonly CommandResult ConfigEntriesMoved = new(false, ConfigEntryErrors.GraphChanged);

    /// <summary>A config entry write validated against an older graph than the store holds now, refused unapplied.</summary>
    private static CommandResult? GraphMoved(WriteTxn txn, ulong? graphIndex) =>
        graphIndex is { } seen && txn.Root.TableIndex(TableNames.ConfigEntries) != seen ? ConfigEntriesMoved : null;

    private static CommandResult Created(Session _) => CommandResult.True;

    private static CommandResult Done(bool _) => CommandResult.True;

    private static CommandResult Reap(WriteTxn txn, ulong index)
    {
        txn.ReapTombstones(index);
        return CommandResult.True;
    }

    private static CommandResult Register(WriteTxn txn, RegisterNodeCommand n)
    {
        txn.EnsureNode(n.Node);
        foreach (var c in n.Checks) txn.EnsureCheck(c);
        return CommandResult.True;
    }

    private static CommandResult CatalogRegister(WriteTxn txn, CatalogRegisterCommand c)
    {
        if (!c.SkipNodeUpdate || txn.Root.Nodes.Get(c.Node.Name) is null) txn.EnsureNode(c.Node);
        if (c.Service is not null) txn.EnsureService(c.Service);
        foreach (var check in c.Checks) txn.EnsureCheck(check);
        return CommandResult.True;
    }

    private static CommandResult CatalogDeregister(WriteTxn txn, CatalogDeregisterCommand d)
    {
        if (d.ServiceID is { Length: > 0 }) txn.DeleteService(d.Node, d.ServiceID);
        if (d.CheckID is { Length: > 0 }) txn.DeleteCheck(d.Node, d.CheckID);
        if (d.ServiceID is not { Length: > 0 } && d.CheckID is not { Length: > 0 }) txn.DeleteNode(d.Node);
        return CommandResult.True;
    }

    private static CommandResult QueryCreate(WriteTxn txn, PreparedQuery query)
    {
        // The proposer picked a fresh UUID; a collision is refused rather than silently replacing another query.
        if (txn.Root.PreparedQueries.Get(query.ID) is not null) return new CommandResult(false, $"prepared query '{query.ID}' already exists");
        txn.PreparedQuerySet(query);
        return CommandResult.True;
    }

    private static CommandResult QueryUpdate(WriteTxn txn, PreparedQuery query)
    {
        // Checked here, not only by the proposer: the query may have gone (deleted, or its session ended) since.
        if (txn.Root.PreparedQueries.Get(query.ID) is null) return new CommandResult(false, WriteTxn.QueryNotFoundMessage(query.ID));
        txn.PreparedQuerySet(query);
        return CommandResult.True;
    }

    private static CommandResult QueryDelete(WriteTxn txn, string id) =>
        txn.PreparedQueryDelete(id) ? CommandResult.True : new CommandResult(false, WriteTxn.QueryNotFoundMessage(id));

    private static CommandResult ApplyKv(WriteTxn txn, KvOp op)
    {
        var outcome = KvOperations.Run(txn, op);
        return outcome.Error is null ? CommandResult.True : CommandResult.False;
    }

    /// <inheritdoc />
    public void WriteSnapshot(Stream destination) => SnapshotCodec.Write(_store.View().Root, destination);

    /// <inheritdoc />
    public void Restore(Stream source) => _store.Replace(SnapshotCodec.Read(source));
}
