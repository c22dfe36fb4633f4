using System.Text.Json;

namespace Mesh.Cli.Http;

/// <summary><c>/v1/session</c>: create, renew and destroy, as Consul's <c>api.Session</c>.</summary>
internal sealed class SessionEndpoint(ApiClient client)
{
    /// <summary>Creates a session and returns its ID.</summary>
    public async Task<string> CreateAsync(SessionCreateRequest request, CancellationToken ct)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, ApiJson.Compact.SessionCreateRequest);
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/session/create", null, null, body, ct).ConfigureAwait(false));
        return KvEndpoint.Decode(result, ApiJson.Compact.SessionIdResponse)?.ID
               ?? throw ApiException.FromDecode("Failed to decode response: empty session create answer", null);
    }

    /// <summary>Renews a session's TTL; null when the session no longer exists (404).</summary>
    public async Task<SessionEntry?> RenewAsync(string id, CancellationToken ct)
    {
        var result = await client.SendAsync(HttpMethod.Put, "/v1/session/renew/" + Uri.EscapeDataString(id), null, null, null, ct).ConfigureAwait(false);
        if (result.Status == 404) return null;
        if (result.Status != 200) throw ApiException.FromStatusNoBody(result.Status);
        var entries = KvEndpoint.Decode(result, ApiJson.Compact.ListSessionEntry);
        return entries is { Count: > 0 } ? entries[0] : null;
    }

    /// <summary>Destroys a session, releasing (or deleting, by its behavior) the keys it locks.</summary>
    public async Task DestroyAsync(string id, CancellationToken ct) =>
        ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/session/destroy/" + Uri.EscapeDataString(id), null, null, null, ct).ConfigureAwait(false));
}
