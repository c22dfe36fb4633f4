using System.Text.Json;
using Mesh.State.Filtering;
using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

// /v1/catalog/* and /v1/health/*: the catalog's writes and its blocking reads, with ?tag, ?node-meta, ?filter and
// (for health) ?passing as Consul applies them.
internal sealed partial class HttpApi
{
    private async Task CatalogRegister(ApiRequest r)
    {
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        using var doc = JsonIn.Parse(body);
        var command = CatalogBody.Register(doc.RootElement, _identity.Datacenter);
        var (result, _) = await _writer.ApplyAsync(command, CancellationToken.None).ConfigureAwait(false);
        if (result.Error is not null) throw ApiException.BadRequest(result.Error);
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), true).ConfigureAwait(false);
    }

    private async Task CatalogDeregister(ApiRequest r)
    {
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        using var doc = JsonIn.Parse(body);
        var command = CatalogBody.Deregister(doc.RootElement, _identity.Datacenter);
        var (result, _) = await _writer.ApplyAsync(command, CancellationToken.None).ConfigureAwait(false);
        if (result.Error is not null) throw ApiException.BadRequest(result.Error);
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), true).ConfigureAwait(false);
    }

    private async Task CatalogNodes(ApiRequest r)
    {
        var meta = NodeMetaFilter(r);
        var filter = Filter(r);
        var (_, nodes) = await BlockingAsync(r, (v, ws) => v.CatalogNodes(ws), x => x.Index).ConfigureAwait(false);
        await WriteItemsAsync(r, nodes.Where(n => MetaMatches(n.Meta, meta)), CatalogJson.Node, filter).ConfigureAwait(false);
    }

    private async Task CatalogServices(ApiRequest r)
    {
        var meta = NodeMetaFilter(r);
        var (_, all) = await BlockingAsync(r, (v, ws) => v.CatalogServices(ws, meta.Count == 0 ? null : n => MetaMatches(n.Meta, meta)), x => x.Index)
            .ConfigureAwait(false);
        var services = all;
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            foreach (var (name, tags) in services)
            {
                w.WriteStartArray(name);
                foreach (var t in tags) w.WriteStringValue(t);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task CatalogService(ApiRequest r, bool connect)
    {
        var service = RequireName(r, "service");
        var tags = r.GetAll("tag");
        var meta = NodeMetaFilter(r);
        var filter = Filter(r);
        // Block on the index alone; the answer is built (from the same view) only when the cache has none for it.
        var (index, view) = await BlockingAsync(r,
            (v, ws) => (connect ? v.ConnectIndex(ws) : v.ServiceIndex(service, ws), v), x => x.Item1).ConfigureAwait(false);
        var entry = _responses.Get(r.Http, index, () =>
        {
            var instances = connect ? view.ConnectInstances(service).Instances : view.ServiceInstances(service).Instances;
            var selected = instances.Where(i => HasTags(i.Service, tags) && MetaMatches(i.Node.Meta, meta));
            return RenderItems(r, selected, (w, i) => CatalogJson.ServiceNode(w, i.Node, i.Service), filter);
        });
        await JsonOut.WriteCachedAsync(r.Http, entry).ConfigureAwait(false);
    }

    private Task CatalogService(ApiRequest r) => CatalogService(r, connect: false);

    private Task CatalogConnect(ApiRequest r) => CatalogService(r, connect: true);

    private async Task CatalogNode(ApiRequest r)
    {
        var node = RequireName(r, "node");
        var filter = Filter(r);
        var (_, n, services) = await BlockingAsync(r, (v, ws) => v.NodeServices(node, ws), x => x.Index).ConfigureAwait(false);
        var selected = filter is null ? services : services.Where(s => Matches(filter, w => CatalogJson.NodeService(w, s))).ToList();
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            if (n is null)
            {
                w.WriteNullValue();
                return;
            }
            w.WriteStartObject();
            w.WritePropertyName("Node");
            CatalogJson.Node(w, n);
            w.WriteStartObject("Services");
            foreach (var s in selected)
            {
                w.WritePropertyName(s.ID);
                CatalogJson.NodeService(w, s);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task CatalogNodeServices(ApiRequest r)
    {
        var node = RequireName(r, "node");
        var filter = Filter(r);
        var (_, n, services) = await BlockingAsync(r, (v, ws) => v.NodeServices(node, ws), x => x.Index).ConfigureAwait(false);
        var selected = filter is null ? services : services.Where(s => Matches(filter, w => CatalogJson.NodeService(w, s))).ToList();
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("Node");
            if (n is null) w.WriteNullValue();
            else CatalogJson.Node(w, n);
            w.WriteStartArray("Services");
            foreach (var s in selected) CatalogJson.NodeService(w, s);
            w.WriteEndArray();
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task HealthNode(ApiRequest r)
    {
        var node = RequireName(r, "node");
        var filter = Filter(r);
        var (_, checks) = await BlockingAsync(r, (v, ws) => v.NodeChecks(node, ws), x => x.Index).ConfigureAwait(false);
        await WriteItemsAsync(r, checks, CatalogJson.Check, filter).ConfigureAwait(false);
    }

    private async Task HealthChecks(ApiRequest r)
    {
        var service = RequireName(r, "service");
        var filter = Filter(r);
        var (_, checks) = await BlockingAsync(r, (v, ws) => v.ServiceChecks(service, ws), x => x.Index).ConfigureAwait(false);
        await WriteItemsAsync(r, checks, CatalogJson.Check, filter).ConfigureAwait(false);
    }

    private async Task HealthState(ApiRequest r)
    {
        var state = RequireName(r, "state");
        if (state is not ("any" or HealthStatus.Passing or HealthStatus.Warning or HealthStatus.Critical))
            throw ApiException.BadRequest($"Invalid check state \"{state}\": use any, passing, warning or critical");
        var filter = Filter(r);
        var (_, checks) = await BlockingAsync(r, (v, ws) => v.ChecksInState(state, ws), x => x.Index).ConfigureAwait(false);
        await WriteItemsAsync(r, checks, CatalogJson.Check, filter).ConfigureAwait(false);
    }

    private async Task HealthService(ApiRequest r, bool connect)
    {
        var service = RequireName(r, "service");
        var tags = r.GetAll("tag");
        var meta = NodeMetaFilter(r);
        var filter = Filter(r);
        var passing = r.Has("passing") && r.Get("passing") is not ("false" or "0");
        var (index, view) = await BlockingAsync(r,
            (v, ws) => (connect ? v.ConnectIndex(ws) : v.ServiceIndex(service, ws), v), x => x.Item1).ConfigureAwait(false);
        var entry = _responses.Get(r.Http, index, () =>
        {
            var entries = connect ? view.ConnectHealth(service).Entries : view.ServiceHealth(service).Entries;
            var selected = entries.Where(e => HasTags(e.Service, tags) && MetaMatches(e.Node.Meta, meta)
                && (!passing || e.Checks.All(c => c.Status == HealthStatus.Passing)));
            return RenderItems(r, selected, CatalogJson.ServiceHealth, filter);
        });
        await JsonOut.WriteCachedAsync(r.Http, entry).ConfigureAwait(false);
    }

    private Task HealthService(ApiRequest r) => HealthService(r, connect: false);

    private Task HealthConnect(ApiRequest r) => HealthService(r, connect: true);

    private static string RequireName(ApiRequest r, string what) =>
        r.Suffix.Length == 0 || r.Suffix.Contains('/') ? throw ApiException.BadRequest($"Missing {what} name") : r.Suffix;

    private static FilterExpression? Filter(ApiRequest r)
    {
        var text = r.Get("filter");
        if (string.IsNullOrEmpty(text)) return null;
        try
        {
            return FilterExpression.Parse(text);
        }
        catch (FilterException ex)
        {
            throw ApiException.BadRequest($"Failed to create boolean expression evaluator: {ex.Message}");
        }
    }

    /// <summary><c>?node-meta=key:value</c>, repeatable; every pair must match.</summary>
    private static List<(string Key, string Value)> NodeMetaFilter(ApiRequest r)
    {
        var pairs = new List<(string, string)>();
        foreach (var v in r.GetAll("node-meta"))
        {
            var colon = v.IndexOf(':');
            pairs.Add(colon < 0 ? (v, "") : (v[..colon], v[(colon + 1)..]));
        }
        return pairs;
    }

    private static bool MetaMatches(IReadOnlyDictionary<string, string> meta, List<(string Key, string Value)> wanted) =>
        wanted.All(p => meta.TryGetValue(p.Key, out var v) && v == p.Value);

    /// <summary>Every <c>?tag=</c> given must be among the instance's tags (case-insensitive, as Consul compares them).</summary>
    private static bool HasTags(ServiceInstance s, IReadOnlyList<string> tags) =>
        tags.All(t => s.Tags.Any(x => string.Equals(x, t, StringComparison.OrdinalIgnoreCase)));

    private byte[] RenderItems<T>(ApiRequest r, IEnumerable<T> items, Action<Utf8JsonWriter, T> write, FilterExpression? filter)
    {
        var selected = filter is null ? items.ToList() : items.Where(i => Matches(filter, w => write(w, i))).ToList();
        return JsonOut.RenderToArray(Pretty(r), w =>
        {
            w.WriteStartArray();
            foreach (var item in selected) write(w, item);
            w.WriteEndArray();
        });
    }

    private Task WriteItemsAsync<T>(ApiRequest r, IEnumerable<T> items, Action<Utf8JsonWriter, T> write, FilterExpression? filter)
    {
        var selected = filter is null ? items.ToList() : items.Where(i => Matches(filter, w => write(w, i))).ToList();
        return JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartArray();
            foreach (var item in selected) write(w, item);
            w.WriteEndArray();
        });
    }

    /// <summary>Evaluates a filter against an item's JSON form, which is what Consul's filter selectors name.</summary>
    private static bool Matches(FilterExpression filter, Action<Utf8JsonWriter> render)
    {
        using var buffer = new PooledBufferWriter();
        using (var w = new Utf8JsonWriter(buffer)) render(w);
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        try
        {
            return filter.Matches(doc.RootElement);
        }
        catch (FilterException ex)
        {
            throw ApiException.BadRequest($"Failed to evaluate filter: {ex.Message}");
        }
    }
}
