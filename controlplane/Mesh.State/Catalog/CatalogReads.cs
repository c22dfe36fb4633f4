using System.Runtime.CompilerServices;
using Mesh.State.Tables;
using Mesh.State.Watch;

namespace Mesh.State;

/// <summary>One service instance with its node and the checks that decide its health (node checks and its own).</summary>
public sealed record ServiceHealth(Node Node, ServiceInstance Service, IReadOnlyList<HealthCheck> Checks);

// Catalog reads. Each watches exactly what its answer depends on, and reports an index that moves whenever that
// answer changes (removals included): the index entries of the service and of every node in the answer.
public sealed partial class StateView
{
    /// <summary>Every node, in name order.</summary>
    public (ulong Index, IReadOnlyList<Node> Nodes) CatalogNodes(WatchSet? ws = null)
    {
        ws?.Prefix(TableNames.Nodes, "");
        return (TableIndex(TableNames.Nodes), _root.Nodes.All().ToList());
    }

    /// <summary>
    /// Every service name with the union of its instances' tags; with <paramref name="nodeFilter"/>, only instances on
    /// the nodes it accepts count (<c>?node-meta=</c>).
    /// </summary>
    public (ulong Index, IReadOnlyList<(string Name, IReadOnlyList<string> Tags)> Services) CatalogServices(WatchSet? ws = null,
        Func<Node, bool>? nodeFilter = null)
    {
        ws?.Prefix(TableNames.Services, "");
        if (nodeFilter is not null) ws?.Prefix(TableNames.Nodes, "");
        var result = new List<(string, IReadOnlyList<string>)>();
        foreach (var (name, keys) in _root.ServicesByName.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var instances = keys.Select(k => _root.Services.Get(k)!)
                .Where(s => nodeFilter is null || (_root.Nodes.Get(s.Node) is { } n && nodeFilter(n))).ToList();
            if (instances.Count == 0) continue;
            result.Add((name, instances.SelectMany(s => s.Tags).Distinct().Order(StringComparer.Ordinal).ToList()));
        }
        return (TableIndex(TableNames.Services, nodeFilter is null ? TableNames.Services : TableNames.Nodes), result);
    }

    /// <summary>The instances of <paramref name="service"/>, each with its node, in node then ID order.</summary>
    public (ulong Index, IReadOnlyList<(Node Node, ServiceInstance Service)> Instances) ServiceInstances(string service, WatchSet? ws = null)
    {
        ws?.Key(TableNames.ServiceNames, service);
        var list = InstancesOf(service).Select(s => (_root.Nodes.Get(s.Node)!, s)).ToList();
        return (ServiceAnswerIndex(service, list.Select(x => x.Item1.Name)), list);
    }

    /// <summary>
    /// The Connect-capable instances for <paramref name="service"/>: proxies whose destination it is, and instances of
    /// it that are Connect-native.
    /// </summary>
    public (ulong Index, IReadOnlyList<(Node Node, ServiceInstance Service)> Instances) ConnectInstances(string service, WatchSet? ws = null)
    {
        ws?.Prefix(TableNames.Services, "");
        var list = _root.Services.All()
            .Where(s => IsProxyFor(s, service) || (s.Service == service && IsNative(s)))
            .Select(s => (_root.Nodes.Get(s.Node)!, s)).ToList();
        return (Math.Max(TableIndex(TableNames.Services, TableNames.Nodes, TableNames.Checks), 1), list);
    }

    /// <summary>
    /// One service instance of <paramref name="node"/> by ID, or null; watches exactly that instance, so a reader
    /// following one registration is not woken by every other change on its node.
    /// </summary>
    public ServiceInstance? NodeService(string node, string serviceId, WatchSet? ws = null)
    {
        var key = ServiceInstance.RowKeyOf(node, serviceId);
        ws?.Key(TableNames.Services, key);
        return _root.Services.Get(key);
    }

    /// <summary>One node and its service instances; null when the node is not registered.</summary>
    public (ulong Index, Node? Node, IReadOnlyList<ServiceInstance> Services) NodeServices(string node, WatchSet? ws = null)
    {
        ws?.Key(TableNames.NodeNames, node);
        var n = _root.Nodes.Get(node);
        var services = n is null ? [] : _root.Services.Prefix(node + "\0").ToList();
        return (NodeAnswerIndex(node), n, services);
    }

    /// <summary>The checks of a node (its own and its services').</summary>
    public (ulong Index, IReadOnlyList<HealthCheck> Checks) NodeChecks(string node, WatchSet? ws = null)
    {
        ws?.Key(TableNames.NodeNames, node);
        return (NodeAnswerIndex(node), _root.Checks.Prefix(node + "\0").ToList());
    }

    /// <summary>The checks of every instance of <paramref name="service"/>.</summary>
    public (ulong Index, IReadOnlyList<HealthCheck> Checks) ServiceChecks(string service, WatchSet? ws = null)
    {
        ws?.Key(TableNames.ServiceNames, service);
        var checks = InstancesOf(service)
            .SelectMany(s => _root.Checks.Prefix(s.Node + "\0").Where(c => c.ServiceID == s.ID))
            .ToList();
        return (ServiceAnswerIndex(service, []), checks);
    }

    /// <summary>Every check in <paramref name="state"/> (<c>any</c> for all).</summary>
    public (ulong Index, IReadOnlyList<HealthCheck> Checks) ChecksInState(string state, WatchSet? ws = null)
    {
        ws?.Prefix(TableNames.Checks, "");
        var checks = _root.Checks.All().Where(c => state == "any" || c.Status == state).ToList();
        return (TableIndex(TableNames.Checks), checks);
    }

    /// <summary>
    /// The instances of <paramref name="service"/> with their node and the checks that decide their health: the
    /// node's own checks and the instance's. Watches the service and every node in the answer.
    /// </summary>
    public (ulong Index, IReadOnlyList<ServiceHealth> Entries) ServiceHealth(string service, WatchSet? ws = null)
    {
        ws?.Key(TableNames.ServiceNames, service);
        var entries = InstancesOf(service).Select(s => Health(s, ws)).ToList();
        return (ServiceAnswerIndex(service, entries.Select(e => e.Node.Name)), entries);
    }

    /// <summary>As <see cref="ServiceHealth"/> for the Connect-capable instances of <paramref name="service"/>.</summary>
    public (ulong Index, IReadOnlyList<ServiceHealth> Entries) ConnectHealth(string service, WatchSet? ws = null)
    {
        ws?.Prefix(TableNames.Services, "");
        var entries = _root.Services.All()
            .Where(s => IsProxyFor(s, service) || (s.Service == service && IsNative(s)))
            .Select(s => Health(s, ws)).ToList();
        return (Math.Max(TableIndex(TableNames.Services, TableNames.Nodes, TableNames.Checks), 1), entries);
    }

    private ServiceHealth Health(ServiceInstance s, WatchSet? ws)
    {
        ws?.Key(TableNames.NodeNames, s.Node);
        var checks = _root.Checks.Prefix(s.Node + "\0").Where(c => c.ServiceID.Length == 0 || c.ServiceID == s.ID).ToList();
        return new ServiceHealth(_root.Nodes.Get(s.Node)!, s, checks);
    }

    /// <summary>Every registered service name, unordered (no tags, no instances: a cheap scan for name lookups).</summary>
    public IEnumerable<string> ServiceNames() => _root.ServicesByName.Keys;

    private IEnumerable<ServiceInstance> InstancesOf(string service) =>
        _root.ServicesByName.TryGetValue(service, out var keys) ? keys.Select(k => _root.Services.Get(k)!) : [];

    /// <summary>
    /// The index of any answer about <paramref name="service"/>'s instances, their nodes and checks, without building
    /// the answer: its index entry moves whenever any of them changes. Watches the same things the answer would.
    /// </summary>
    public ulong ServiceIndex(string service, WatchSet? ws = null)
    {
        ws?.Key(TableNames.ServiceNames, service);
        return ServiceAnswerIndex(service, []);
    }

    /// <summary>The index of an answer about the Connect-capable instances of any service (it watches them all).</summary>
    public ulong ConnectIndex(WatchSet? ws = null)
    {
        ws?.Prefix(TableNames.Services, "");
        return Math.Max(TableIndex(TableNames.Services, TableNames.Nodes, TableNames.Checks), 1);
    }

    private ulong ServiceAnswerIndex(string service, IEnumerable<string> nodes)
    {
        // Node changes move the entries of the services on the node (see WriteTxn.TouchNode), so the service's own
        // entry covers the nodes too; the loop only matters for answers built before that rule, and costs nothing.
        var index = _root.TableIndex(TableNames.ServiceIndex(service));
        foreach (var node in nodes) index = Math.Max(index, _root.TableIndex(TableNames.NodeIndex(node)));
        // A service never registered still needs an index a blocking query can wait on.
        return index != 0 ? index : Math.Max(TableIndex(TableNames.Services), 1);
    }

    private ulong NodeAnswerIndex(string node)
    {
        var index = _root.TableIndex(TableNames.NodeIndex(node));
        return index != 0 ? index : Math.Max(TableIndex(TableNames.Nodes), 1);
    }

    // Rows are immutable and outlive many reads: each one's Proxy and Connect blocks are parsed once, not on every
    // Connect query (thousands of proxies re-read the Connect instances of their upstreams on each change).
    private static readonly ConditionalWeakTable<ServiceInstance, string> Destinations = new();
    private static readonly ConditionalWeakTable<ServiceInstance, object> Natives = new();

    private static bool IsProxyFor(ServiceInstance s, string service) =>
        s.Kind == "connect-proxy" && s.ProxyJson is not null
        && Destinations.GetValue(s, static r => ProxyDestination(r.ProxyJson!) ?? "") == service;

    private static bool IsNative(ServiceInstance s) =>
        s.ConnectJson is not null && (bool)Natives.GetValue(s, static r => ConnectNative(r.ConnectJson!));

    private static string? ProxyDestination(string proxyJson)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(proxyJson);
        return doc.RootElement.TryGetProperty("DestinationServiceName", out var d) && d.ValueKind == System.Text.Json.JsonValueKind.String ? d.GetString() : null;
    }

    private static bool ConnectNative(string connectJson)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(connectJson);
        return doc.RootElement.TryGetProperty("Native", out var n) && n.ValueKind == System.Text.Json.JsonValueKind.True;
    }
}
