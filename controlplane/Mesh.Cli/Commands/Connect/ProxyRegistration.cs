using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Connect;

/// <summary>
/// A proxy service as the local agent reports it (<c>GET /v1/agent/service/&lt;id&gt;</c>): what the bootstrap
/// needs from it. The <c>Proxy</c> block is kept as registered, so its keys may be PascalCase or snake_case.
/// </summary>
/// <param name="Id">The service ID.</param>
/// <param name="Service">The service name.</param>
/// <param name="Datacenter">The agent's datacenter, or "" when not reported.</param>
/// <param name="DestinationServiceName">The service the proxy fronts, or "" when none.</param>
/// <param name="Config">The proxy's <c>Proxy.Config</c>, or null.</param>
internal sealed record ProxyRegistration(string Id, string Service, string Datacenter, string DestinationServiceName, JsonElement? Config)
{
    /// <summary>Help for <c>-proxy-id</c>, shared by <c>connect envoy</c> and <c>connect proxy</c>.</summary>
    internal const string ProxyIdHelp =
        "The proxy's ID on the local agent. This can also be specified via the CONNECT_PROXY_ID environment variable.";

    /// <summary>Help for <c>-sidecar-for</c>, shared by <c>connect envoy</c> and <c>connect proxy</c>.</summary>
    internal const string SidecarForHelp =
        "The ID of a service instance on the local agent that this proxy should become a sidecar for. It requires " +
        "that the proxy service is registered with the agent as a connect-proxy with Proxy.DestinationServiceID set " +
        "to this value. If more than one such proxy is registered it will fail. This can also be specified via the " +
        "CONNECT_SIDECAR_FOR environment variable.";

    /// <summary>A flag's value when given, else the first of <paramref name="envNames"/> that is set, else null.</summary>
    internal static string? Setting(CliContext ctx, Func<string> flag, params string[] envNames)
    {
        if (flag() is { Length: > 0 } value) return value;
        foreach (var name in envNames)
        {
            if (ctx.GetEnv(name) is { Length: > 0 } env) return env;
        }

        return null;
    }

    /// <summary>
    /// Finds the one <c>connect-proxy</c> service on the local agent whose <c>Proxy.DestinationServiceID</c> is
    /// <paramref name="serviceId"/> (compared without case, as Consul does).
    /// </summary>
    /// <exception cref="ProxyLookupException">None or several match, or the agent could not be asked.</exception>
    public static async Task<string> LookupSidecarAsync(ApiClient client, string serviceId, CancellationToken ct)
    {
        var ids = new List<string>();
        try
        {
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/agent/services", null, null, null, ct).ConfigureAwait(false));
            using var doc = JsonDocument.Parse(result.Body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("expected an object of services");
            foreach (var s in doc.RootElement.EnumerateObject())
            {
                if (s.Value.ValueKind != JsonValueKind.Object || Text(s.Value, "Kind") != "connect-proxy") continue;
                if (!TryProp(s.Value, "Proxy", out var proxy) || proxy.ValueKind != JsonValueKind.Object) continue;
                if (string.Equals(Text(proxy, "DestinationServiceID"), serviceId, StringComparison.OrdinalIgnoreCase))
                    ids.Add(Text(s.Value, "ID") is { Length: > 0 } id ? id : s.Name);
            }
        }
        catch (Exception e) when (e is ApiException or JsonException)
        {
            throw new ProxyLookupException($"Failed looking up sidecar proxy info for {serviceId}: {e.Message}");
        }
        ids.Sort(StringComparer.Ordinal);
        return ids.Count switch
        {
            0 => throw new ProxyLookupException($"No sidecar proxy registered for {serviceId}"),
            1 => ids[0],
            _ => throw new ProxyLookupException($"More than one sidecar proxy registered for {serviceId}.\n" +
                                                $"    Start proxy with -proxy-id and one of the following IDs: {string.Join(", ", ids)}"),
        };
    }

    /// <summary>Reads the proxy service <paramref name="proxyId"/> from the local agent.</summary>
    /// <exception cref="ProxyLookupException">It is not registered, is not a proxy, or the agent could not be asked.</exception>
    public static async Task<ProxyRegistration> FetchAsync(ApiClient client, string proxyId, CancellationToken ct)
    {
        JsonElement root;
        try
        {
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/agent/service/" + Uri.EscapeDataString(proxyId), null, null, null, ct).ConfigureAwait(false));
            using var doc = JsonDocument.Parse(result.Body);
            root = doc.RootElement.Clone();
            if (root.ValueKind != JsonValueKind.Object) throw new JsonException("expected a service object");
        }
        catch (Exception e) when (e is ApiException or JsonException)
        {
            throw new ProxyLookupException($"failed fetch proxy config from local agent: {e.Message}");
        }
        if (!TryProp(root, "Proxy", out var proxy) || proxy.ValueKind != JsonValueKind.Object)
            throw new ProxyLookupException($"service {proxyId} is not a Connect proxy");
        JsonElement? config = TryProp(proxy, "Config", out var c) && c.ValueKind == JsonValueKind.Object ? c : null;
        return new ProxyRegistration(Text(root, "ID") ?? proxyId, Text(root, "Service") ?? "",
            Text(root, "Datacenter") ?? "", Text(proxy, "DestinationServiceName") ?? "", config);
    }

    /// <summary>
    /// The <c>Config</c> of the <c>proxy-defaults</c> entry (<c>GET /v1/config/proxy-defaults/global</c>), or null
    /// when there is no such entry.
    /// </summary>
    /// <exception cref="ProxyLookupException">The agent could not be asked or answered something else.</exception>
    public static async Task<JsonElement?> ProxyDefaultsConfigAsync(ApiClient client, CancellationToken ct)
    {
        try
        {
            var result = await client.SendAsync(HttpMethod.Get, "/v1/config/proxy-defaults/global", null, null, null, ct).ConfigureAwait(false);
            if (result.Status == 404) return null;
            ApiClient.RequireOk(result);
            using var doc = JsonDocument.Parse(result.Body);
            return TryProp(doc.RootElement, "Config", out var config) && config.ValueKind == JsonValueKind.Object ? config.Clone() : null;
        }
        catch (Exception e) when (e is ApiException or JsonException)
        {
            throw new ProxyLookupException($"Error reading the proxy-defaults config entry: {e.Message}");
        }
    }

    /// <summary>The agent's gRPC port from <c>/v1/agent/self</c> (<c>DebugConfig.GRPCPort</c>), or null when it reports none.</summary>
    /// <exception cref="ApiException">The agent could not be asked.</exception>
    public static async Task<int?> AgentGrpcPortAsync(ApiClient client, CancellationToken ct)
    {
        using var self = await client.Agent.SelfAsync(ct).ConfigureAwait(false);
        foreach (var (section, key) in new[] { ("XDS", "Port"), ("DebugConfig", "GRPCPort") })
        {
            if (self.RootElement.ValueKind == JsonValueKind.Object && self.RootElement.TryGetProperty(section, out var s) && s.ValueKind == JsonValueKind.Object
                && s.TryGetProperty(key, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var port) && port > 0)
                return port;
        }
        return null;
    }

    private static string? Text(JsonElement obj, string name) =>
        TryProp(obj, name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    // Service definitions reach the agent as PascalCase or snake_case and the Proxy block is echoed as registered:
    // DestinationServiceID, destination_service_id and Destination_Service_Id all name the same field.
    private static bool TryProp(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.TryGetProperty(name, out value)) return true;
        foreach (var p in obj.EnumerateObject())
        {
            if (string.Equals(p.Name.Replace("_", "", StringComparison.Ordinal), name, StringComparison.OrdinalIgnoreCase))
            {
                value = p.Value;
                return true;
            }
        }
        value = default;
        return false;
    }
}

/// <summary>A proxy could not be identified or read; the message is what the command prints.</summary>
internal sealed class ProxyLookupException(string message) : Exception(message);

