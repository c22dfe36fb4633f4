using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.State;

/// <summary>
/// Runs one KV operation (a <c>/v1/kv</c> write or a <c>/v1/txn</c> op) against a write transaction, with Consul's
/// verbs and messages. Reads return the entry with its value; writes and checks return it without.
/// </summary>
internal static class KvOperations
{
    public sealed record Outcome(IReadOnlyList<KvEntry> Entries, string? Error);

    private static Outcome Ok(KvEntry? e) => new(e is null ? [] : [e], null);
    private static Outcome Blank(KvEntry e) => new([e with { Value = null }], null);
    private static Outcome Fail(string what) => new([], what);

    /// <summary>
    /// Runs a transaction's operations in order. As Consul does, every operation runs even after one fails, so the
    /// client learns of every failure at once; the caller then discards the transaction.
    /// </summary>
    public static CommandResult RunTxn(WriteTxn txn, IReadOnlyList<KvOp> ops)
    {
        var results = new List<TxnResult>();
        List<TxnError>? errors = null;
        for (var i = 0; i < ops.Count; i++)
        {
            Outcome outcome;
            try
            {
                outcome = Run(txn, ops[i]);
            }
            catch (StoreException ex)
            {
                outcome = Fail(ex.Message);
            }
            if (outcome.Error is not null) (errors ??= []).Add(new TxnError(i, outcome.Error));
            else results.AddRange(outcome.Entries.Select(e => new TxnResult(e)));
        }
        return errors is null ? new CommandResult(true, Results: results) : new CommandResult(false, Errors: errors);
    }

    public static Outcome Run(WriteTxn txn, KvOp op)
    {
        switch (op.Verb)
        {
            case KvVerbs.Set:
                return Blank(txn.KvSet(op.Key, op.Value, op.Flags));
            case KvVerbs.Cas:
                return txn.KvSetCas(op.Key, op.Value, op.Flags, op.Index) is { } set
                    ? Blank(set) : Fail($"failed to set key \"{op.Key}\", index is stale");
            case KvVerbs.Lock:
                return txn.KvLock(op.Key, op.Value, op.Flags, op.Session ?? "") is { } locked
                    ? Blank(locked) : Fail($"failed to lock key \"{op.Key}\", lock is already held");
            case KvVerbs.Unlock:
                return txn.KvUnlock(op.Key, op.Value, op.Flags, op.Session ?? "") is { } unlocked
                    ? Blank(unlocked) : Fail($"failed to unlock key \"{op.Key}\", lock isn't held, or is held by another session");
            case KvVerbs.Get:
                return txn.KvGet(op.Key) is { } got ? Ok(got) : Fail($"key \"{op.Key}\" doesn't exist");
            case KvVerbs.GetOrEmpty:
                return Ok(txn.KvGet(op.Key) ?? new KvEntry { Key = op.Key });
            case KvVerbs.GetTree:
                return new Outcome(txn.Root.Kv.Prefix(op.Key).ToList(), null);
            case KvVerbs.CheckIndex:
            {
                var e = txn.KvGet(op.Key);
                if (e is null) return Fail($"failed to check index, key \"{op.Key}\" doesn't exist");
                return e.ModifyIndex == op.Index ? Blank(e)
                    : Fail($"failed index check for key \"{op.Key}\", current modify index {e.ModifyIndex} != {op.Index}");
            }
            case KvVerbs.CheckSession:
            {
                var e = txn.KvGet(op.Key);
                if (e is null) return Fail($"failed to check session, key \"{op.Key}\" doesn't exist");
                return e.Session == (string.IsNullOrEmpty(op.Session) ? null : op.Session) ? Blank(e)
                    : Fail($"failed session check for key \"{op.Key}\", current session \"{e.Session}\" != \"{op.Session}\"");
            }
            case KvVerbs.CheckNotExists:
                return txn.KvGet(op.Key) is null ? Ok(null) : Fail($"key \"{op.Key}\" exists");
            case KvVerbs.Delete:
                txn.KvDelete(op.Key);
                return Ok(null);
            case KvVerbs.DeleteTree:
                txn.KvDeleteTree(op.Key);
                return Ok(null);
            case KvVerbs.DeleteCas:
                return txn.KvDeleteCas(op.Key, op.Index) ? Ok(null) : Fail($"failed to delete key \"{op.Key}\", index is stale");
            default:
                return Fail($"unknown KV verb \"{op.Verb}\"");
        }
    }
}
