using Mesh.State.Tables;

namespace Mesh.State;

// Sessions: creation validates the node and checks the session is tied to; invalidation releases or deletes the
// session's locks and starts their lock-delay.
internal sealed partial class WriteTxn
{
    /// <summary>Longest lock-delay applied, whatever a session asked for (Consul clamps it the same way).</summary>
    public static readonly TimeSpan MaxLockDelay = TimeSpan.FromSeconds(60);

    /// <summary>Creates a session.</summary>
    /// <exception cref="StoreException">The node is unknown, or a check is unknown or critical.</exception>
    public Session SessionCreate(Session session)
    {
        if (Root.Sessions.Get(session.ID) is not null) throw new StoreException($"session \"{session.ID}\" already exists");
        if (Root.Nodes.Get(session.Node) is null) throw new StoreException($"missing node registration for \"{session.Node}\"");
        foreach (var checkId in session.NodeChecks)
        {
            var check = Root.Checks.Get(HealthCheck.RowKeyOf(session.Node, checkId))
                ?? throw new StoreException($"missing check '{checkId}' registration");
            if (check.Status == HealthStatus.Critical) throw new StoreException($"check '{checkId}' is in critical state");
        }
        foreach (var sc in session.ServiceChecks)
        {
            var check = Root.Checks.Get(HealthCheck.RowKeyOf(session.Node, sc.ID))
                ?? throw new StoreException($"missing check '{sc.ID}' registration");
            if (check.Status == HealthStatus.Critical) throw new StoreException($"check '{sc.ID}' is in critical state");
        }
        var row = session with { CreateIndex = Index, ModifyIndex = Index };
        Root = Root with { Sessions = Root.Sessions.Set(row.ID, row) };
        Changed(TableNames.Sessions, row.ID);
        Changed(TableNames.SessionsByNode, row.Node);
        return row;
    }

    /// <summary>
    /// Destroys a session, releasing or deleting its locks and deleting the prepared queries tied to it. Returns false
    /// when it did not exist.
    /// </summary>
    public bool SessionDestroy(string id)
    {
        var session = Root.Sessions.Get(id);
        if (session is null) return false;
        Root = Root with { Sessions = Root.Sessions.Remove(id) };
        Changed(TableNames.Sessions, id);
        Changed(TableNames.SessionsByNode, session.Node);
        DeleteQueriesOfSession(id);

        if (!Root.KvBySession.TryGetValue(id, out var keys)) return true;
        // Expired lock-delays go whenever new ones are added, so the map holds only delays still running.
        var delays = Root.LockDelays.RemoveRange(Root.LockDelays.Where(d => d.Value <= Now).Select(d => d.Key));
        var delay = session.LockDelay > MaxLockDelay ? MaxLockDelay : session.LockDelay;
        foreach (var key in keys)
        {
            var entry = Root.Kv.Get(key);
            if (entry is null) continue;
            if (session.Behavior == SessionBehavior.Delete) KvDelete(key);
            else KvPut(key, entry.Value, entry.Flags, null, lockIndexBump: false);
            if (delay > TimeSpan.Zero) delays = delays.SetItem(key, Now + delay);
        }
        Root = Root with { LockDelays = delays };
        return true;
    }

    /// <summary>Destroys every session that depends on a check of <paramref name="node"/> with id <paramref name="checkId"/>.</summary>
    private void InvalidateSessionsOfCheck(string node, string checkId)
    {
        foreach (var s in Root.Sessions.All().Where(s => s.Node == node &&
                     (s.NodeChecks.Contains(checkId) || s.ServiceChecks.Any(c => c.ID == checkId))).ToList())
            SessionDestroy(s.ID);
    }

    /// <summary>Registers or updates a node. A write that changes nothing moves no index.</summary>
    public Node EnsureNode(Node node)
    {
        var existing = Root.Nodes.Get(node.Name);
        var row = node with { CreateIndex = existing?.CreateIndex ?? Index, ModifyIndex = Index };
        if (existing is not null && SameNode(existing, row)) return existing;
        Root = Root with { Nodes = Root.Nodes.Set(row.Name, row) };
        Changed(TableNames.Nodes, row.Name);
        TouchNode(row.Name, wholeNode: true);
        return row;
    }

    private static bool SameNode(Node a, Node b) =>
        a.ID == b.ID && a.Address == b.Address && a.Datacenter == b.Datacenter &&
        SameMap(a.TaggedAddresses, b.TaggedAddresses) && SameMap(a.Meta, b.Meta);

    private static bool SameMap(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    /// <summary>Registers or updates a check; a check turning critical invalidates the sessions tied to it.</summary>
    /// <exception cref="StoreException">The check's node is not registered.</exception>
    public HealthCheck EnsureCheck(HealthCheck check)
    {
        if (Root.Nodes.Get(check.Node) is null) throw new StoreException($"missing node registration for \"{check.Node}\"");
        if (check.ServiceID.Length > 0)
        {
            // A service check takes its service's name and tags from the registered instance, as Consul does.
            var service = Root.Services.Get(ServiceInstance.RowKeyOf(check.Node, check.ServiceID))
                ?? throw new StoreException($"missing service registration for \"{check.ServiceID}\" on node \"{check.Node}\"");
            check = check with { ServiceName = service.Service, ServiceTags = service.Tags };
        }
        else check = check with { ServiceName = "", ServiceTags = [] };
        var existing = Root.Checks.Get(check.RowKey);
        if (existing is not null && existing.SameContent(check)) return existing;
        var row = check with { CreateIndex = existing?.CreateIndex ?? Index, ModifyIndex = Index };
        Root = Root with { Checks = Root.Checks.Set(row.RowKey, row) };
        Changed(TableNames.Checks, row.RowKey);
        if (existing is { ServiceName.Length: > 0 } && existing.ServiceName != row.ServiceName) TouchService(existing.ServiceName);
        if (row.ServiceName.Length > 0) TouchService(row.ServiceName);
        TouchNode(row.Node, wholeNode: row.ServiceID.Length == 0);
        if (row.Status == HealthStatus.Critical) InvalidateSessionsOfCheck(row.Node, row.CheckID);
        return row;
    }
}
