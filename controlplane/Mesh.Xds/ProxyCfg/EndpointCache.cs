using System.Collections.Concurrent;
using System.Text.Json;
using Mesh.Connect.Entries;
using Mesh.State;
using Mesh.State.Watch;
using Mesh.State.Filtering;
using Mesh.State.Tables;

namespace Mesh.Xds.ProxyCfg;

/// <summary>
/// The instances behind chain targets, computed once per change and shared: every proxy whose upstream is the same
/// (service, subset) gets the same <see cref="EndpointGroup"/> object, and a recomputation that finds the same
/// instances hands back the previous object, so a proxy can tell "nothing changed" by reference and a cache can
/// encode an assignment once for all proxies.
/// </summary>
internal sealed class EndpointCache
{
    private readonly ConcurrentDictionary<Key, Slot> _slots = new();

    /// <summary>Filters that did not parse (a resolver stored by another version); such a subset has no endpoints.</summary>
    public long BadFilters => Interlocked.Read(ref _badFilters);

    private long _badFilters;

    /// <summary>Instances left out because their address is a host name: EDS carries IP addresses only.</summary>
    public long HostNamesSkipped => Interlocked.Read(ref _hostNames);

    private long _hostNames;

    /// <summary>
    /// The endpoints of <paramref name="service"/>'s <paramref name="subset"/>: for a sidecar, the service's sidecar
    /// proxies and Connect-native instances (mTLS goes proxy to proxy); for a proxyless client, its instances.
    /// </summary>
    public EndpointGroup Get(StateView view, WatchSet? ws, ProxyMode mode, string service, ResolverSubset subset)
    {
        var key = new Key(mode, service, subset.Filter, subset.OnlyPassing);
        var index = mode == ProxyMode.Sidecar ? view.ConnectIndex(ws) : view.ServiceIndex(service, ws);
        var slot = _slots.GetOrAdd(key, static _ => new Slot());
        var entry = Volatile.Read(ref slot.Entry);
        if (entry is null || entry.Index < index)
        {
            // Thousands of proxies wake on the same change: one computes the group, the others wait for it rather
            // than each scanning the catalog.
            lock (slot)
            {
                entry = slot.Entry;
                if (entry is null || entry.Index < index)
                {
                    var (_, rows) = mode == ProxyMode.Sidecar ? view.ConnectHealth(service) : view.ServiceHealth(service);
                    var group = Compute(rows, subset);
                    // Equal content keeps the older object, so that references stay stable.
                    if (entry is not null && Same(entry.Group, group)) group = entry.Group;
                    entry = new Entry(index, group, rows.Select(r => r.Node.Name).Distinct(StringComparer.Ordinal).ToArray());
                    Volatile.Write(ref slot.Entry, entry);
                }
            }
        }
        // The answer's health depends on its nodes' and instances' checks: watch them as the full read would have.
        if (ws is not null)
            foreach (var node in entry.Nodes) ws.Key(TableNames.NodeNames, node);
        return entry.Group;
    }

    private EndpointGroup Compute(IReadOnlyList<ServiceHealth> rows, ResolverSubset subset)
    {
        FilterExpression? filter = null;
        if (subset.Filter.Length > 0)
        {
            try
            {
                filter = FilterExpression.Parse(subset.Filter);
            }
            catch (FilterException)
            {
                Interlocked.Increment(ref _badFilters);
                return EndpointGroup.Empty;
            }
        }

        var endpoints = new List<ServiceEndpoint>(rows.Count);
        foreach (var row in rows)
        {
            if (filter is not null && !filter.Matches(FilterView(row))) continue;
            var (healthy, weight) = Health(row, subset.OnlyPassing);
            var address = row.Service.Address.Length > 0 ? row.Service.Address : row.Node.Address;
            if (!System.Net.IPAddress.TryParse(address, out _))
            {
                // Envoy refuses a whole assignment over one unresolvable address; the others must still get through.
                Interlocked.Increment(ref _hostNames);
                continue;
            }
            endpoints.Add(new ServiceEndpoint(address, row.Service.Port, healthy, weight));
        }
        // Healthy first, then a stable order, so that equal answers compare equal.
        endpoints.Sort(static (a, b) => a.Healthy != b.Healthy ? (a.Healthy ? -1 : 1)
            : string.CompareOrdinal(a.Address, b.Address) is var c and not 0 ? c : a.Port.CompareTo(b.Port));
        return endpoints.Count == 0 ? EndpointGroup.Empty : new EndpointGroup(endpoints);
    }

    /// <summary>
    /// Consul's rule for an endpoint's health and weight: any critical check (or maintenance) makes it unhealthy; a
    /// warning keeps it healthy at its warning weight unless the subset wants only passing instances.
    /// </summary>
    internal static (bool Healthy, int Weight) Health(ServiceHealth row, bool onlyPassing)
    {
        var warning = false;
        foreach (var check in row.Checks)
        {
            if (check.Status is HealthStatus.Critical or HealthStatus.Maintenance) return (false, 1);
            if (check.Status == HealthStatus.Warning) warning = true;
        }
        if (warning && onlyPassing) return (false, 1);
        var weight = warning ? row.Service.Weights.Warning : row.Service.Weights.Passing;
        return (true, Math.Max(weight, 1));
    }

    /// <summary>The instance as a subset filter sees it: Consul's <c>CheckServiceNode</c> fields.</summary>
    private static JsonElement FilterView(ServiceHealth row)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteStartObject("Node");
            w.WriteString("ID", row.Node.ID);
            w.WriteString("Node", row.Node.Name);
            w.WriteString("Address", row.Node.Address);
            w.WriteString("Datacenter", row.Node.Datacenter);
            WriteMap(w, "TaggedAddresses", row.Node.TaggedAddresses);
            WriteMap(w, "Meta", row.Node.Meta);
            w.WriteEndObject();
            w.WriteStartObject("Service");
            w.WriteString("ID", row.Service.ID);
            w.WriteString("Service", row.Service.Service);
            w.WriteString("Kind", row.Service.Kind);
            w.WriteString("Address", row.Service.Address);
            w.WriteNumber("Port", row.Service.Port);
            w.WriteStartArray("Tags");
            foreach (var t in row.Service.Tags) w.WriteStringValue(t);
            w.WriteEndArray();
            WriteMap(w, "Meta", row.Service.Meta);
            w.WriteEndObject();
            w.WriteStartArray("Checks");
            foreach (var c in row.Checks)
            {
                w.WriteStartObject();
                w.WriteString("CheckID", c.CheckID);
                w.WriteString("Name", c.Name);
                w.WriteString("Status", c.Status);
                w.WriteString("ServiceID", c.ServiceID);
                w.WriteString("ServiceName", c.ServiceName);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        using var doc = JsonDocument.Parse(stream.ToArray());
        return doc.RootElement.Clone();
    }

    private static void WriteMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> map)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in map) w.WriteString(k, v);
        w.WriteEndObject();
    }

    private static bool Same(EndpointGroup a, EndpointGroup b) => a.Endpoints.SequenceEqual(b.Endpoints);

    private readonly record struct Key(ProxyMode Mode, string Service, string Filter, bool OnlyPassing);

    private sealed record Entry(ulong Index, EndpointGroup Group, string[] Nodes);

    private sealed class Slot
    {
        public Entry? Entry;
    }
}
