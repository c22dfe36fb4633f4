using System.Text.Json;

namespace Mesh.Xds.ProxyCfg;

/// <summary>
/// A <c>connect-proxy</c> registration's <c>Proxy</c> block, typed. The catalog keeps the block as the JSON the client
/// sent (PascalCase from the HTTP API, snake_case from config files, or a mix after sidecar expansion), so keys match
/// regardless of case and underscores.
/// </summary>
/// <param name="DestinationServiceName">The service the proxy fronts.</param>
/// <param name="DestinationServiceId">That service's instance ID.</param>
/// <param name="LocalServiceAddress">Where the application listens (default 127.0.0.1).</param>
/// <param name="LocalServicePort">The application's port.</param>
/// <param name="Config">The opaque <c>Config</c> map (protocol, bind_address, envoy_* keys...).</param>
/// <param name="Upstreams">The upstreams, in order.</param>
public sealed record ProxyDefinition(string DestinationServiceName, string DestinationServiceId, string LocalServiceAddress,
    int LocalServicePort, IReadOnlyDictionary<string, JsonElement> Config, IReadOnlyList<UpstreamDefinition> Upstreams)
{
    /// <summary>Reads a stored <c>Proxy</c> block; null when there is none.</summary>
    /// <exception cref="FormatException">The block is not a JSON object or a field has the wrong type.</exception>
    public static ProxyDefinition? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json)) return null;
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new FormatException("Proxy is not valid JSON: " + e.Message, e);
        }
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException("Proxy must be a JSON object");

        var upstreams = new List<UpstreamDefinition>();
        var given = Find(root, "Upstreams");
        if (given is { ValueKind: not (JsonValueKind.Array or JsonValueKind.Null) }) throw new FormatException("Upstreams must be an array");
        if (given is { ValueKind: JsonValueKind.Array } list)
        {
            foreach (var u in list.EnumerateArray())
            {
                if (u.ValueKind != JsonValueKind.Object) throw new FormatException("Proxy.Upstreams entries must be objects");
                upstreams.Add(new UpstreamDefinition(
                    Str(u, "DestinationType") is { Length: > 0 } t ? t : "service",
                    Str(u, "DestinationName"),
                    Str(u, "Datacenter"),
                    Str(u, "LocalBindAddress") is { Length: > 0 } a ? a : "127.0.0.1",
                    Int(u, "LocalBindPort"),
                    Map(u, "Config")));
            }
        }
        return new ProxyDefinition(Str(root, "DestinationServiceName"), Str(root, "DestinationServiceID"),
            Str(root, "LocalServiceAddress") is { Length: > 0 } la ? la : "127.0.0.1", Int(root, "LocalServicePort"),
            Map(root, "Config"), upstreams);
    }

    /// <summary>A property by Consul's PascalCase name, matching snake_case and any letter case too.</summary>
    internal static JsonElement? Find(JsonElement obj, string name)
    {
        foreach (var p in obj.EnumerateObject())
            if (SameKey(p.Name, name)) return p.Value;
        return null;
    }

    private static bool SameKey(string given, string pascal)
    {
        int i = 0, j = 0;
        while (i < given.Length && j < pascal.Length)
        {
            if (given[i] == '_') { i++; continue; }
            if (char.ToLowerInvariant(given[i]) != char.ToLowerInvariant(pascal[j])) return false;
            i++;
            j++;
        }
        while (i < given.Length && given[i] == '_') i++;
        return i == given.Length && j == pascal.Length;
    }

    private static string Str(JsonElement obj, string name) => Find(obj, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => "",
        { ValueKind: JsonValueKind.String } v => v.GetString()!,
        _ => throw new FormatException($"{name} must be a string"),
    };

    private static int Int(JsonElement obj, string name) => Find(obj, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => 0,
        { ValueKind: JsonValueKind.Number } v when v.TryGetInt32(out var n) => n,
        _ => throw new FormatException($"{name} must be an integer"),
    };

    private static IReadOnlyDictionary<string, JsonElement> Map(JsonElement obj, string name) => Find(obj, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => new Dictionary<string, JsonElement>(),
        { ValueKind: JsonValueKind.Object } v => v.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal),
        _ => throw new FormatException($"{name} must be an object"),
    };
}

/// <summary>One entry of <c>Proxy.Upstreams</c>.</summary>
/// <param name="DestinationType"><c>service</c> (default) or <c>prepared_query</c>.</param>
/// <param name="DestinationName">The service (or query) name.</param>
/// <param name="Datacenter">The datacenter, or empty for the proxy's own.</param>
/// <param name="LocalBindAddress">Where the application connects (default 127.0.0.1).</param>
/// <param name="LocalBindPort">The local port.</param>
/// <param name="Config">The upstream's opaque config (protocol, connect_timeout_ms, limits, passive_health_check).</param>
public sealed record UpstreamDefinition(string DestinationType, string DestinationName, string Datacenter, string LocalBindAddress,
    int LocalBindPort, IReadOnlyDictionary<string, JsonElement> Config);
