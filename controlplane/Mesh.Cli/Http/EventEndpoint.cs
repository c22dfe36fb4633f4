using System.Globalization;

namespace Mesh.Cli.Http;

/// <summary><c>/v1/event</c>: fire and list user events, as Consul's <c>api.Event</c>.</summary>
internal sealed class EventEndpoint(ApiClient client)
{
    /// <summary>Fires an event; filters are regular expressions the agents match against themselves.</summary>
    public async Task<UserEvent> FireAsync(string name, byte[]? payload, string node, string service, string tag, CancellationToken ct)
    {
        List<KeyValuePair<string, string?>> parameters = [];
        if (node.Length > 0) parameters.Add(new("node", node));
        if (service.Length > 0) parameters.Add(new("service", service));
        if (tag.Length > 0) parameters.Add(new("tag", tag));
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/event/fire/" + Uri.EscapeDataString(name),
            parameters, null, payload, ct).ConfigureAwait(false));
        return KvEndpoint.Decode(result, ApiJson.Compact.UserEvent)
               ?? throw ApiException.FromDecode("Failed to decode response: empty event", null);
    }

    /// <summary>
    /// Lists recent events, optionally only those named <paramref name="name"/>. The endpoint's index is derived
    /// from the newest event's ID (see <see cref="IdToIndex"/>), so it is not monotonic.
    /// </summary>
    public async Task<(List<UserEvent> Events, QueryMeta Meta)> ListAsync(string name, QueryOptions? query, CancellationToken ct)
    {
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/event/list",
            name.Length > 0 ? [new("name", name)] : null, query, null, ct).ConfigureAwait(false));
        return (KvEndpoint.Decode(result, ApiJson.Compact.ListUserEvent) ?? [], result.Meta);
    }

    /// <summary>
    /// The wait index an event ID stands for: the XOR of the UUID's two 64-bit halves, as Consul's agent computes
    /// the event list's <c>X-Consul-Index</c> and its client reproduces it.
    /// </summary>
    public static ulong IdToIndex(string uuid)
    {
        if (uuid.Length != 36) return 0;
        var lower = string.Concat(uuid.AsSpan(0, 8), uuid.AsSpan(9, 4), uuid.AsSpan(14, 4));
        var upper = string.Concat(uuid.AsSpan(19, 4), uuid.AsSpan(24, 12));
        return ulong.TryParse(lower, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var lo)
               && ulong.TryParse(upper, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hi)
            ? lo ^ hi
            : 0;
    }
}
