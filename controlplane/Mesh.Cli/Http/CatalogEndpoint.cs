using System.Text.Json.Serialization.Metadata;

namespace Mesh.Cli.Http;

/// <summary>
/// Read options of the catalog list calls, as Consul's Go client sends them: <c>?near=</c>, one
/// <c>?node-meta=key:value</c> per pair and <c>?filter=</c>.
/// </summary>
internal sealed record CatalogQuery
{
    public string Near { get; init; } = "";
    public IReadOnlyDictionary<string, string> NodeMeta { get; init; } = new Dictionary<string, string>();
    public string Filter { get; init; } = "";
    public bool Stale { get; init; }

    internal List<KeyValuePair<string, string?>> Parameters()
    {
        List<KeyValuePair<string, string?>> parameters = [];
        if (Near.Length > 0) parameters.Add(new("near", Near));
        // Go ranges over a map here (random order); sorting keeps requests reproducible.
        foreach (var (k, v) in NodeMeta.OrderBy(m => m.Key, StringComparer.Ordinal)) parameters.Add(new("node-meta", k + ":" + v));
        if (Filter.Length > 0) parameters.Add(new("filter", Filter));
        return parameters;
    }
}

/// <summary><c>/v1/catalog</c> reads the CLI makes.</summary>
internal sealed class CatalogEndpoint(ApiClient client)
{
    /// <summary><c>GET /v1/catalog/datacenters</c>.</summary>
    public Task<List<string>> DatacentersAsync(CancellationToken ct) =>
        GetAsync("/v1/catalog/datacenters", [], null, ApiJson.Compact.ListString, ct);

    /// <summary><c>GET /v1/catalog/nodes</c>.</summary>
    public Task<List<CatalogNode>> NodesAsync(CatalogQuery query, CancellationToken ct) =>
        GetAsync("/v1/catalog/nodes", query.Parameters(), query, ApiJson.Compact.ListCatalogNode, ct);

    /// <summary><c>GET /v1/catalog/service/&lt;name&gt;</c>: every instance of the service.</summary>
    public Task<List<CatalogServiceEntry>> ServiceAsync(string service, CatalogQuery query, CancellationToken ct) =>
        GetAsync("/v1/catalog/service/" + Uri.EscapeDataString(service), query.Parameters(), query, ApiJson.Compact.ListCatalogServiceEntry, ct);

    /// <summary><c>GET /v1/catalog/services</c>: service names and their tags.</summary>
    public async Task<Dictionary<string, List<string>?>> ServicesAsync(CatalogQuery query, CancellationToken ct) =>
        await GetNullableAsync("/v1/catalog/services", query.Parameters(), query, ApiJson.Compact.DictionaryStringListString, ct).ConfigureAwait(false) ?? [];

    /// <summary><c>GET /v1/catalog/node/&lt;node&gt;</c>; null when the node is unknown (the agent answers <c>null</c>).</summary>
    public Task<CatalogNodeServices?> NodeAsync(string node, CatalogQuery query, CancellationToken ct) =>
        GetNullableAsync("/v1/catalog/node/" + Uri.EscapeDataString(node), query.Parameters(), query, ApiJson.Compact.CatalogNodeServices, ct);

    private async Task<List<T>> GetAsync<T>(string path, List<KeyValuePair<string, string?>> parameters, CatalogQuery? query,
        JsonTypeInfo<List<T>> type, CancellationToken ct) =>
        await GetNullableAsync(path, parameters, query, type, ct).ConfigureAwait(false) ?? [];

    private async Task<T?> GetNullableAsync<T>(string path, List<KeyValuePair<string, string?>> parameters, CatalogQuery? query,
        JsonTypeInfo<T> type, CancellationToken ct)
    {
        var options = new QueryOptions { AllowStale = query?.Stale ?? false };
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, path, parameters, options, null, ct).ConfigureAwait(false));
        return KvEndpoint.Decode(result, type);
    }
}
