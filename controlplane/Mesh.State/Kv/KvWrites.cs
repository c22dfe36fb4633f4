using System.Collections.Immutable;
using Mesh.State.Tables;

namespace Mesh.State;

// KV writes, with Consul's semantics: a set keeps CreateIndex, LockIndex and the lock holder; a write that changes
// nothing changes no index; a delete leaves a tombstone so the index of the key's prefix never goes backwards.
internal sealed partial class WriteTxn
{
    public KvEntry? KvGet(string key) => Root.Kv.Get(key);

    /// <summary>Stores a value. Returns the stored entry.</summary>
    public KvEntry KvSet(string key, byte[]? value, ulong flags) => KvPut(key, value, flags, Root.Kv.Get(key)?.Session, lockIndexBump: false);

    /// <summary>Check-and-set: <paramref name="cas"/> 0 means "only if absent", otherwise the key's ModifyIndex must match.</summary>
    public KvEntry? KvSetCas(string key, byte[]? value, ulong flags, ulong cas)
    {
        var existing = Root.Kv.Get(key);
        if (cas == 0 ? existing is not null : existing is null || existing.ModifyIndex != cas) return null;
        return KvSet(key, value, flags);
    }

    /// <summary>Acquires the lock on <paramref name="key"/> for <paramref name="session"/>. Null when another session holds it.</summary>
    /// <exception cref="StoreException">The session does not exist.</exception>
    public KvEntry? KvLock(string key, byte[]? value, ulong flags, string session)
    {
        if (Root.Sessions.Get(session) is null) throw new StoreException($"invalid session \"{session}\"");
        var existing = Root.Kv.Get(key);
        if (existing?.Session is { } holder && holder != session) return null;
        // Re-acquiring a lock the session already holds updates the value without counting a new acquisition.
        return KvPut(key, value, flags, session, lockIndexBump: existing?.Session != session);
    }

    /// <summary>Releases the lock on <paramref name="key"/>; null unless <paramref name="session"/> holds it.</summary>
    public KvEntry? KvUnlock(string key, byte[]? value, ulong flags, string session)
    {
        var existing = Root.Kv.Get(key);
        if (existing is null || existing.Session != session) return null;
        return KvPut(key, value, flags, null, lockIndexBump: false);
    }

    private KvEntry KvPut(string key, byte[]? value, ulong flags, string? session, bool lockIndexBump)
    {
        var existing = Root.Kv.Get(key);
        var entry = new KvEntry
        {
            Key = key,
            Value = value is { Length: > 0 } ? value : null,
            Flags = flags,
            Session = session,
            LockIndex = (existing?.LockIndex ?? 0) + (lockIndexBump ? 1UL : 0UL),
            CreateIndex = existing?.CreateIndex ?? Index,
            ModifyIndex = Index,
        };
        if (existing is not null && existing.SameContent(entry)) return existing;
        Root = Root with
        {
            Kv = Root.Kv.Set(key, entry),
            Tombstones = Root.Tombstones.Remove(key),
            KvBySession = MoveLock(Root.KvBySession, key, existing?.Session, session),
        };
        Changed(TableNames.Kvs, key);
        return entry;
    }

    /// <summary>Deletes <paramref name="key"/>; nothing happens (and no index moves) when it is absent.</summary>
    public void KvDelete(string key)
    {
        var existing = Root.Kv.Get(key);
        if (existing is null) return;
        Root = Root with
        {
            Kv = Root.Kv.Remove(key),
            Tombstones = Root.Tombstones.Set(key, new Tombstone(key, Index, Now)),
            KvBySession = MoveLock(Root.KvBySession, key, existing.Session, null),
        };
        Changed(TableNames.Kvs, key);
        Changed(TableNames.Tombstones, key);
    }

    /// <summary>Deletes <paramref name="key"/> if its ModifyIndex is <paramref name="cas"/>. An absent key counts as deleted.</summary>
    public bool KvDeleteCas(string key, ulong cas)
    {
        var existing = Root.Kv.Get(key);
        if (existing is null) return true;
        if (existing.ModifyIndex != cas) return false;
        KvDelete(key);
        return true;
    }

    /// <summary>Deletes every key under <paramref name="prefix"/>.</summary>
    public void KvDeleteTree(string prefix)
    {
        foreach (var entry in Root.Kv.Prefix(prefix).ToList()) KvDelete(entry.Key);
    }

    /// <summary>Removes the tombstones created at or before <paramref name="index"/>.</summary>
    public void ReapTombstones(ulong index)
    {
        foreach (var t in Root.Tombstones.All().Where(t => t.Index <= index).ToList())
        {
            Root = Root with { Tombstones = Root.Tombstones.Remove(t.Key) };
            // Reaping changes no key readers see, so only the tombstone table index moves; nobody is woken.
        }
    }

    private static ImmutableDictionary<string, ImmutableSortedSet<string>> MoveLock(
        ImmutableDictionary<string, ImmutableSortedSet<string>> bySession, string key, string? from, string? to)
    {
        if (from == to) return bySession;
        if (from is not null && bySession.TryGetValue(from, out var held))
        {
            held = held.Remove(key);
            bySession = held.IsEmpty ? bySession.Remove(from) : bySession.SetItem(from, held);
        }
        if (to is not null)
        {
            var set = bySession.TryGetValue(to, out var h) ? h : ImmutableSortedSet.Create<string>(StringComparer.Ordinal);
            bySession = bySession.SetItem(to, set.Add(key));
        }
        return bySession;
    }
}
