using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Mesh.Cli.Http;

namespace Mesh.Cli.Watches;

/// <summary>
/// The watch types: Consul's <c>key</c>, <c>keyprefix</c> and <c>event</c> with typed results printed in Consul's
/// field order, and <c>services</c>, <c>nodes</c>, <c>service</c> and <c>checks</c> whose catalog/health JSON is
/// passed through as the agent returns it.
/// </summary>
internal static class Watchers
{
    /// <summary>Parameters of a watch, as <c>consul watch</c> collects them from its flags.</summary>
    internal sealed record Parameters
    {
        public string Key { get; init; } = "";
        public string Prefix { get; init; } = "";
        public string Service { get; init; } = "";
        public IReadOnlyList<string> Tags { get; init; } = [];
        public bool? PassingOnly { get; init; }
        public string State { get; init; } = "";
        public string Name { get; init; } = "";
        public string Filter { get; init; } = "";
        public bool Stale { get; init; }
    }

    /// <summary>
    /// Builds the watcher for <paramref name="type"/>, rejecting missing or inapplicable parameters with Consul's
    /// messages. Returns the watcher and whether its index is monotonic.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown type or bad parameters.</exception>
    public static (Watcher Watcher, bool MonotonicIndex) Create(string type, Parameters p, ApiClient client)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var query = (ulong index) => new QueryOptions { AllowStale = p.Stale, WaitIndex = index };
        (Watcher, bool) result;
        switch (type)
        {
            case "key":
                used.UnionWith(["key", "stale"]);
                if (p.Key.Length == 0) throw new ArgumentException("Must specify a single key to watch");
                result = (async (index, ct) =>
                {
                    var (pair, meta) = await client.Kv.GetAsync(p.Key, query(index), ct).ConfigureAwait(false);
                    return Typed(meta.LastIndex, pair, ApiJson.Compact.KvPair, ApiJson.Indented4.KvPair);
                }, true);
                break;
            case "keyprefix":
                used.UnionWith(["prefix", "stale"]);
                if (p.Prefix.Length == 0) throw new ArgumentException("Must specify a single prefix to watch");
                result = (async (index, ct) =>
                {
                    var (pairs, meta) = await client.Kv.ListAsync(p.Prefix, query(index), ct).ConfigureAwait(false);
                    return Typed(meta.LastIndex, pairs, ApiJson.Compact.ListKvPair, ApiJson.Indented4.ListKvPair);
                }, true);
                break;
            case "event":
                used.Add("name");
                result = (async (index, ct) =>
                {
                    // Stale reads do not apply to events.
                    var (events, meta) = await client.Event.ListAsync(p.Name, new QueryOptions { WaitIndex = index }, ct).ConfigureAwait(false);
                    // Only the events after the one the previous index stood for are new.
                    var seen = events.FindIndex(e => EventEndpoint.IdToIndex(e.ID) == index);
                    if (index != 0 && seen >= 0) events = events[(seen + 1)..];
                    return Typed(meta.LastIndex, events, ApiJson.Compact.ListUserEvent, ApiJson.Indented4.ListUserEvent);
                }, false);
                break;
            case "services":
                used.UnionWith(["stale", "filter"]);
                result = (Raw(client, "/v1/catalog/services", FilterParam(p), query), true);
                break;
            case "nodes":
                used.UnionWith(["stale", "filter"]);
                result = (Raw(client, "/v1/catalog/nodes", FilterParam(p), query), true);
                break;
            case "service":
            {
                used.UnionWith(["service", "tag", "passingonly", "stale", "filter"]);
                if (p.Service.Length == 0) throw new ArgumentException("Must specify a single service to watch");
                var parameters = FilterParam(p);
                parameters.AddRange(p.Tags.Select(t => new KeyValuePair<string, string?>("tag", t)));
                if (p.PassingOnly == true) parameters.Add(new("passing", "1"));
                result = (Raw(client, "/v1/health/service/" + Uri.EscapeDataString(p.Service), parameters, query), true);
                break;
            }
            case "checks":
            {
                used.UnionWith(["service", "state", "tag", "stale", "filter"]);
                if (p.Service.Length > 0 && p.State.Length > 0) throw new ArgumentException("Cannot specify service and state");
                var state = p.Service.Length == 0 && p.State.Length == 0 ? "any" : p.State;
                var parameters = FilterParam(p);
                parameters.AddRange(p.Tags.Select(t => new KeyValuePair<string, string?>("tag", t)));
                var path = state.Length > 0
                    ? "/v1/health/state/" + Uri.EscapeDataString(state)
                    : "/v1/health/checks/" + Uri.EscapeDataString(p.Service);
                result = (Raw(client, path, parameters, query), true);
                break;
            }
            default:
                if (type.StartsWith("connect_", StringComparison.Ordinal) || type.StartsWith("agent_", StringComparison.Ordinal))
                    throw new ArgumentException($"Type {type} is not supported in the CLI tool");
                throw new ArgumentException($"Unsupported watch type: {type}");
        }

        var given = new List<string>();
        if (p.Key.Length > 0) given.Add("key");
        if (p.Prefix.Length > 0) given.Add("prefix");
        if (p.Service.Length > 0) given.Add("service");
        if (p.Tags.Count > 0) given.Add("tag");
        if (p.PassingOnly is not null) given.Add("passingonly");
        if (p.State.Length > 0) given.Add("state");
        if (p.Name.Length > 0) given.Add("name");
        if (p.Filter.Length > 0) given.Add("filter");
        if (p.Stale) given.Add("stale");
        var bad = given.Where(g => !used.Contains(g)).Order(StringComparer.Ordinal).ToList();
        if (bad.Count > 0) throw new ArgumentException($"Invalid parameters: [{string.Join(' ', bad)}]");
        return result;
    }

    private static List<KeyValuePair<string, string?>> FilterParam(Parameters p) =>
        p.Filter.Length > 0 ? [new("filter", p.Filter)] : [];

    private static WatchResult Typed<T>(ulong index, T value, JsonTypeInfo<T> compact, JsonTypeInfo<T> indented) =>
        new(index, JsonSerializer.Serialize(value, compact), JsonSerializer.Serialize(value, indented));

    private static Watcher Raw(ApiClient client, string path, List<KeyValuePair<string, string?>> parameters,
        Func<ulong, QueryOptions> query) => async (index, ct) =>
    {
        var response = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, path, parameters, query(index), null, ct).ConfigureAwait(false));
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(response.Body);
        }
        catch (JsonException e)
        {
            throw ApiException.FromDecode($"Failed to decode response: {e.Message}", e);
        }
        using (doc)
            return new WatchResult(response.Meta.LastIndex, Write(doc.RootElement, false), Write(doc.RootElement, true));
    };

    private static string Write(JsonElement element, bool indented)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions
               {
                   Indented = indented,
                   IndentSize = 4,
                   NewLine = "\n",
                   Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
               }))
        {
            element.WriteTo(writer);
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
