using System.Text.Json;
using Mesh.Xds.ProxyCfg;

namespace Mesh.Agent.Http;

/// <summary>
/// Writes a registration's <c>Proxy</c> and <c>Connect</c> blocks in Consul's canonical field names, whatever case or
/// underscores the client used (<c>destination_service_name</c>, <c>destinationServiceName</c>): Consul decodes them
/// into typed structs, so every reader downstream (the catalog's Connect queries, proxycfg, <c>connect envoy</c>)
/// sees one spelling. Fields it does not know are kept as written; opaque <c>Config</c> maps are copied untouched.
/// </summary>
internal static class ConnectBlocks
{
    private static readonly string[] ProxyFields =
    [
        "DestinationServiceName", "DestinationServiceID", "LocalServiceAddress", "LocalServicePort", "LocalServiceSocketPath",
        "Mode", "Config", "Upstreams", "MeshGateway", "Expose", "TransparentProxy", "AccessLogs",
    ];

    private static readonly string[] UpstreamFields =
    [
        "DestinationType", "DestinationNamespace", "DestinationPartition", "DestinationPeer", "DestinationName", "Datacenter",
        "LocalBindAddress", "LocalBindPort", "LocalBindSocketPath", "LocalBindSocketMode", "Config", "MeshGateway", "CentrallyConfigured",
    ];

    private static readonly string[] ExposeFields = ["Checks", "Paths"];
    private static readonly string[] ExposePathFields = ["ListenerPort", "Path", "LocalPathPort", "Protocol", "ParsedFromCheck"];
    private static readonly string[] MeshGatewayFields = ["Mode"];
    private static readonly string[] ConnectFields = ["Native", "SidecarService"];

    /// <summary>The <c>Proxy</c> block, canonical, as JSON, once it reads as a proxy definition.</summary>
    /// <exception cref="ApiException">400: a field has the wrong type, or an upstream lacks its name or port.</exception>
    public static string Proxy(JsonElement proxy)
    {
        var json = Write(w => Object(w, proxy, ProxyFields, ProxyChild));
        // The proxy's configuration is built from this block later, on its own: a block that cannot be read then
        // would leave the proxy unconfigured with only a log line, so it is refused here, as Consul's decoder does.
        ProxyDefinition? definition;
        try
        {
            definition = ProxyDefinition.Parse(json);
        }
        catch (FormatException ex)
        {
            throw ApiException.BadRequest("Invalid Proxy: " + ex.Message);
        }
        foreach (var (u, i) in (definition?.Upstreams ?? []).Select((u, i) => (u, i)))
        {
            if (u.DestinationName.Length == 0) throw ApiException.BadRequest($"Invalid Proxy.Upstreams[{i}]: DestinationName is required");
            if (u.LocalBindPort is < 0 or > 65535)
                throw ApiException.BadRequest($"Invalid Proxy.Upstreams[{i}]: LocalBindPort {u.LocalBindPort} is not a port");
        }
        return json;
    }

    /// <summary>The <c>Connect</c> block, canonical, as JSON (without <c>SidecarService</c>, which becomes its own service).</summary>
    public static string Connect(JsonElement connect) =>
        Write(w => Object(w, connect, ConnectFields, static (_, _, _) => false, skip: "SidecarService"));

    private static bool ProxyChild(Utf8JsonWriter w, string field, JsonElement value)
    {
        switch (field)
        {
            case "Upstreams" when value.ValueKind == JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var u in value.EnumerateArray())
                {
                    if (u.ValueKind == JsonValueKind.Object) Object(w, u, UpstreamFields, MeshGatewayChild);
                    else u.WriteTo(w);
                }
                w.WriteEndArray();
                return true;
            case "Expose" when value.ValueKind == JsonValueKind.Object:
                Object(w, value, ExposeFields, static (w, f, v) =>
                {
                    if (f != "Paths" || v.ValueKind != JsonValueKind.Array) return false;
                    w.WriteStartArray();
                    foreach (var p in v.EnumerateArray())
                    {
                        if (p.ValueKind == JsonValueKind.Object) Object(w, p, ExposePathFields, static (_, _, _) => false);
                        else p.WriteTo(w);
                    }
                    w.WriteEndArray();
                    return true;
                });
                return true;
            case "MeshGateway" when value.ValueKind == JsonValueKind.Object:
                Object(w, value, MeshGatewayFields, static (_, _, _) => false);
                return true;
            default:
                return false;
        }
    }

    private static bool MeshGatewayChild(Utf8JsonWriter w, string field, JsonElement value)
    {
        if (field != "MeshGateway" || value.ValueKind != JsonValueKind.Object) return false;
        Object(w, value, MeshGatewayFields, static (_, _, _) => false);
        return true;
    }

    /// <summary>
    /// Copies an object, renaming known fields to their canonical spelling; <paramref name="child"/> may write a
    /// field's value itself (returning true) to canonicalise nested blocks.
    /// </summary>
    private static void Object(Utf8JsonWriter w, JsonElement obj, string[] fields, Func<Utf8JsonWriter, string, JsonElement, bool> child,
        string? skip = null)
    {
        w.WriteStartObject();
        foreach (var p in obj.EnumerateObject())
        {
            var name = fields.FirstOrDefault(f => JsonIn.SameName(p.Name, f)) ?? p.Name;
            if (name == skip) continue;
            w.WritePropertyName(name);
            if (!child(w, name, p.Value)) p.Value.WriteTo(w);
        }
        w.WriteEndObject();
    }

    private static string Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
