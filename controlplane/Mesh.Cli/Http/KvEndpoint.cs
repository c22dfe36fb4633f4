using System.Globalization;
using System.Text.Json;

namespace Mesh.Cli.Http;

/// <summary><c>/v1/kv</c>, with the semantics of Consul's Go <c>api.KV</c>: a missing key reads as null, writes report success as a bool.</summary>
internal sealed class KvEndpoint(ApiClient client)
{
    /// <summary>Reads one key; null (with the response's metadata) when it does not exist.</summary>
    public async Task<(KvPair? Pair, QueryMeta Meta)> GetAsync(string key, QueryOptions? query, CancellationToken ct)
    {
        var result = await client.SendAsync(HttpMethod.Get, KeyPath(key), null, query, null, ct).ConfigureAwait(false);
        if (result.Status == 404) return (null, result.Meta);
        ApiClient.RequireOk(result);
        var pairs = Decode(result, ApiJson.Compact.ListKvPair);
        return (pairs is { Count: > 0 } ? pairs[0] : null, result.Meta);
    }

    /// <summary>Reads every key under a prefix (<c>?recurse</c>); null when there is none.</summary>
    public async Task<(List<KvPair>? Pairs, QueryMeta Meta)> ListAsync(string prefix, QueryOptions? query, CancellationToken ct)
    {
        var result = await client.SendAsync(HttpMethod.Get, KeyPath(prefix), [new("recurse", null)], query, null, ct).ConfigureAwait(false);
        if (result.Status == 404) return (null, result.Meta);
        ApiClient.RequireOk(result);
        return (Decode(result, ApiJson.Compact.ListKvPair), result.Meta);
    }

    /// <summary>Lists key names under a prefix (<c>?keys</c>), grouped up to <paramref name="separator"/> when given.</summary>
    public async Task<(List<string>? Keys, QueryMeta Meta)> KeysAsync(string prefix, string separator, QueryOptions? query, CancellationToken ct)
    {
        List<KeyValuePair<string, string?>> parameters = [new("keys", null)];
        if (separator.Length > 0) parameters.Add(new("separator", separator));
        var result = await client.SendAsync(HttpMethod.Get, KeyPath(prefix), parameters, query, null, ct).ConfigureAwait(false);
        if (result.Status == 404) return (null, result.Meta);
        ApiClient.RequireOk(result);
        return (Decode(result, ApiJson.Compact.ListString), result.Meta);
    }

    /// <summary>Writes a key unconditionally.</summary>
    public Task<bool> PutAsync(KvPair pair, CancellationToken ct) => WriteAsync(pair, null, ct);

    /// <summary>Writes a key only if its ModifyIndex still equals <c>pair.ModifyIndex</c> (0: only if absent).</summary>
    public Task<bool> CasAsync(KvPair pair, CancellationToken ct) =>
        WriteAsync(pair, new("cas", pair.ModifyIndex.ToString(CultureInfo.InvariantCulture)), ct);

    /// <summary>Writes a key and takes its lock for <c>pair.Session</c>; false when another session holds it.</summary>
    public Task<bool> AcquireAsync(KvPair pair, CancellationToken ct) => WriteAsync(pair, new("acquire", pair.Session), ct);

    /// <summary>Writes a key and releases <c>pair.Session</c>'s lock on it.</summary>
    public Task<bool> ReleaseAsync(KvPair pair, CancellationToken ct) => WriteAsync(pair, new("release", pair.Session), ct);

    /// <summary>Deletes one key (absent keys are fine).</summary>
    public Task<bool> DeleteAsync(string key, CancellationToken ct) => DeleteCoreAsync(key, null, ct);

    /// <summary>Deletes a key only if its ModifyIndex equals <paramref name="modifyIndex"/>.</summary>
    public Task<bool> DeleteCasAsync(string key, ulong modifyIndex, CancellationToken ct) =>
        DeleteCoreAsync(key, new("cas", modifyIndex.ToString(CultureInfo.InvariantCulture)), ct);

    /// <summary>Deletes every key under a prefix.</summary>
    public Task<bool> DeleteTreeAsync(string prefix, CancellationToken ct) => DeleteCoreAsync(prefix, new("recurse", null), ct);

    private async Task<bool> WriteAsync(KvPair pair, KeyValuePair<string, string?>? mode, CancellationToken ct)
    {
        // Consul's client refuses these rather than silently writing a different key.
        if (pair.Key.StartsWith('/')) throw new ArgumentException($"Invalid key. Key must not begin with a '/': {pair.Key}");
        List<KeyValuePair<string, string?>> parameters = [];
        if (pair.Flags != 0) parameters.Add(new("flags", pair.Flags.ToString(CultureInfo.InvariantCulture)));
        if (mode is { } m) parameters.Add(m);
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, KeyPath(pair.Key), parameters, null,
            pair.Value ?? [], ct).ConfigureAwait(false));
        return ParseBool(result);
    }

    private async Task<bool> DeleteCoreAsync(string key, KeyValuePair<string, string?>? mode, CancellationToken ct)
    {
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Delete, KeyPath(key),
            mode is { } m ? [m] : null, null, null, ct).ConfigureAwait(false));
        return ParseBool(result);
    }

    private static string KeyPath(string key) => "/v1/kv/" + ApiClient.EscapePath(key.TrimStart('/'));

    private static bool ParseBool(ApiResult result) => result.BodyText.Trim() == "true";

    internal static T? Decode<T>(ApiResult result, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(result.Body, type);
        }
        catch (JsonException e)
        {
            throw ApiException.FromDecode($"Failed to decode response: {e.Message}", e);
        }
    }
}
