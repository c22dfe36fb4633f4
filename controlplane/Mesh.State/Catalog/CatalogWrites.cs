using System.Collections.Immutable;
using Mesh.State.Tables;

namespace Mesh.State;

// The catalog: nodes, their service instances and health checks, with Consul's register/deregister semantics.
// Besides the table indexes, every change moves the index entry of the node and of the service it touches, so a
// query about one service or node can report an index that moves whenever its answer changes, removals included.
internal sealed partial class WriteTxn
{
    /// <summary>Registers or updates a service instance on an existing node. Unchanged content moves no index.</summary>
    /// <exception cref="StoreException">The node is not registered.</exception>
    public ServiceInstance EnsureService(ServiceInstance service)
    {
        if (Root.Nodes.Get(service.Node) is null) throw new StoreException($"missing node registration for \"{service.Node}\"");
        var existing = Root.Services.Get(service.RowKey);
        if (existing is not null && existing.SameContent(service)) return existing;
        var row = service with { CreateIndex = existing?.CreateIndex ?? Index, ModifyIndex = Index };
        var byName = Root.ServicesByName;
        if (existing is not null && existing.Service != row.Service) byName = RemoveName(byName, existing.Service, row.RowKey);
        byName = byName.SetItem(row.Service, (byName.TryGetValue(row.Service, out var set) ? set : EmptyKeys).Add(row.RowKey));
        Root = Root with { Services = Root.Services.Set(row.RowKey, row), ServicesByName = byName };
        Changed(TableNames.Services, row.RowKey);
        if (existing is not null && existing.Service != row.Service) TouchService(existing.Service);
        TouchService(row.Service);
        TouchNode(row.Node);
        return row;
    }

    /// <summary>Removes a service instance, its checks and the sessions tied to them. Absent: nothing happens.</summary>
    public void DeleteService(string node, string serviceId)
    {
        var existing = Root.Services.Get(ServiceInstance.RowKeyOf(node, serviceId));
        if (existing is null) return;
        foreach (var check in Root.Checks.Prefix(node + "\0").Where(c => c.ServiceID == serviceId).ToList())
            DeleteCheck(node, check.CheckID);
        Root = Root with
        {
            Services = Root.Services.Remove(existing.RowKey),
            ServicesByName = RemoveName(Root.ServicesByName, existing.Service, existing.RowKey),
        };
        Changed(TableNames.Services, existing.RowKey);
        TouchService(existing.Service);
        TouchNode(node);
    }

    /// <summary>Removes a check and invalidates the sessions tied to it. Absent: nothing happens.</summary>
    public void DeleteCheck(string node, string checkId)
    {
        var existing = Root.Checks.Get(HealthCheck.RowKeyOf(node, checkId));
        if (existing is null) return;
        InvalidateSessionsOfCheck(node, checkId);
        Root = Root with { Checks = Root.Checks.Remove(existing.RowKey) };
        Changed(TableNames.Checks, existing.RowKey);
        if (existing.ServiceName.Length > 0) TouchService(existing.ServiceName);
        TouchNode(node, wholeNode: existing.ServiceID.Length == 0);
    }

    /// <summary>Removes a node with everything on it, and the sessions of the node. Absent: nothing happens.</summary>
    public void DeleteNode(string node)
    {
        if (Root.Nodes.Get(node) is null) return;
        foreach (var service in Root.Services.Prefix(node + "\0").ToList()) DeleteService(node, service.ID);
        foreach (var check in Root.Checks.Prefix(node + "\0").ToList()) DeleteCheck(node, check.CheckID);
        foreach (var session in Root.Sessions.All().Where(s => s.Node == node).ToList()) SessionDestroy(session.ID);
        Root = Root with { Nodes = Root.Nodes.Remove(node) };
        Changed(TableNames.Nodes, node);
        TouchNode(node, wholeNode: true);
    }

    private void TouchService(string service)
    {
        var key = TableNames.ServiceIndex(service);
        if (Root.TableIndex(key) != Index) Root = Root with { TableIndexes = Root.TableIndexes.SetItem(key, Index) };
        Changed(TableNames.ServiceNames, service);
    }

    /// <summary>
    /// Moves the node's index entry. With <paramref name="wholeNode"/> (the node itself or a node-level check
    /// changed) the entries of every service on it move too, since the node's health is part of theirs: a service's
    /// entry alone is then the index of any answer about the service. A change to one service moves only that service.
    /// </summary>
    private void TouchNode(string node, bool wholeNode = false)
    {
        var key = TableNames.NodeIndex(node);
        if (Root.TableIndex(key) != Index)
        {
            Root = Root with { TableIndexes = Root.TableIndexes.SetItem(key, Index) };
            Changed(TableNames.NodeNames, node);
        }
        if (wholeNode)
            foreach (var service in Root.Services.Prefix(node + "\0")) TouchService(service.Service);
    }

    private static readonly ImmutableSortedSet<string> EmptyKeys = ImmutableSortedSet.Create<string>(StringComparer.Ordinal);

    private static ImmutableDictionary<string, ImmutableSortedSet<string>> RemoveName(
        ImmutableDictionary<string, ImmutableSortedSet<string>> byName, string service, string rowKey)
    {
        if (!byName.TryGetValue(service, out var set)) return byName;
        set = set.Remove(rowKey);
        return set.IsEmpty ? byName.Remove(service) : byName.SetItem(service, set);
    }
}
