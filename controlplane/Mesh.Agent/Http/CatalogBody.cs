using System.Collections.Immutable;
using System.Text.Json;
using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

/// <summary>Reads <c>/v1/catalog/register</c> and <c>/deregister</c> bodies, with Consul's defaults and a 400 naming the field.</summary>
internal static class CatalogBody
{
    private static readonly HashSet<string> Kinds = ["", "connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway"];
    private static readonly HashSet<string> Statuses = [HealthStatus.Passing, HealthStatus.Warning, HealthStatus.Critical, HealthStatus.Maintenance];

    public static CatalogRegisterCommand Register(JsonElement root, string datacenter)
    {
        RequireObject(root, "the body");
        var node = JsonIn.String(root, "Node") ?? "";
        var address = JsonIn.String(root, "Address") ?? "";
        if (node.Length == 0) throw ApiException.BadRequest("Must provide node");
        if (address.Length == 0) throw ApiException.BadRequest("Must provide address");
        var id = JsonIn.String(root, "ID") ?? "";
        if (id.Length > 0 && !Guid.TryParse(id, out _)) throw ApiException.BadRequest($"Invalid node ID \"{id}\": must be a UUID");
        CheckDatacenter(root, datacenter);

        var nodeRow = new Node
        {
            ID = id,
            Name = node,
            Address = address,
            Datacenter = datacenter,
            TaggedAddresses = StringMap(root, "TaggedAddresses"),
            Meta = StringMap(root, "NodeMeta"),
        };

        ServiceInstance? service = null;
        if (JsonIn.TryGet(root, "Service", out var s))
        {
            RequireObject(s, "Service");
            var name = JsonIn.String(s, "Service") ?? "";
            if (name.Length == 0) throw ApiException.BadRequest("Must provide service name (Service.Service)");
            var kind = JsonIn.String(s, "Kind") ?? "";
            if (!Kinds.Contains(kind)) throw ApiException.BadRequest($"Invalid service Kind \"{kind}\"");
            var port = JsonIn.UInt64(s, "Port");
            if (port > 65535) throw ApiException.BadRequest($"Invalid Service.Port {port}");
            service = new ServiceInstance
            {
                Node = node,
                ID = JsonIn.String(s, "ID") is { Length: > 0 } sid ? sid : name,
                Service = name,
                Tags = [.. JsonIn.Strings(s, "Tags")],
                Address = JsonIn.String(s, "Address") ?? "",
                TaggedAddresses = ServiceAddresses(s),
                Meta = StringMap(s, "Meta"),
                Port = (int)port,
                Weights = Weights(s),
                EnableTagOverride = Bool(s, "EnableTagOverride"),
                Kind = kind,
                ProxyJson = RawObject(s, "Proxy") is { } proxy ? ConnectBlocks.Proxy(proxy) : null,
                ConnectJson = RawObject(s, "Connect") is { } connect ? ConnectBlocks.Connect(connect) : null,
            };
        }

        var checks = new List<HealthCheck>();
        if (JsonIn.TryGet(root, "Check", out var one)) checks.Add(Check(one, node, "Check"));
        if (JsonIn.TryGet(root, "Checks", out var many))
        {
            if (many.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("Request decode failed: Checks must be an array");
            var i = 0;
            foreach (var c in many.EnumerateArray()) checks.Add(Check(c, node, $"Checks[{i++}]"));
        }
        return new CatalogRegisterCommand(nodeRow, service, checks, Bool(root, "SkipNodeUpdate"));
    }

    public static CatalogDeregisterCommand Deregister(JsonElement root, string datacenter)
    {
        RequireObject(root, "the body");
        var node = JsonIn.String(root, "Node") ?? "";
        if (node.Length == 0) throw ApiException.BadRequest("Must provide node");
        CheckDatacenter(root, datacenter);
        return new CatalogDeregisterCommand(node, JsonIn.String(root, "ServiceID"), JsonIn.String(root, "CheckID"));
    }

    private static HealthCheck Check(JsonElement c, string node, string field)
    {
        RequireObject(c, field);
        var checkNode = JsonIn.String(c, "Node") ?? "";
        if (checkNode.Length > 0 && checkNode != node)
            throw ApiException.BadRequest($"{field}.Node \"{checkNode}\" does not match the registered node \"{node}\"");
        var name = JsonIn.String(c, "Name") ?? "";
        var id = JsonIn.String(c, "CheckID") is { Length: > 0 } cid ? cid : name;
        if (id.Length == 0) throw ApiException.BadRequest($"Must provide {field}.CheckID or {field}.Name");
        var status = JsonIn.String(c, "Status") is { Length: > 0 } st ? st : HealthStatus.Critical;
        if (!Statuses.Contains(status)) throw ApiException.BadRequest($"Invalid {field}.Status \"{status}\": use passing, warning or critical");
        return new HealthCheck
        {
            Node = node,
            CheckID = id,
            Name = name.Length > 0 ? name : id,
            Status = status,
            Notes = JsonIn.String(c, "Notes") ?? "",
            Output = JsonIn.String(c, "Output") ?? "",
            ServiceID = JsonIn.String(c, "ServiceID") ?? "",
            Type = JsonIn.String(c, "Type") ?? "",
            DefinitionJson = RawObject(c, "Definition") is { } definition ? JsonSerializer.Serialize(definition) : null,
        };
    }

    private static void CheckDatacenter(JsonElement root, string datacenter)
    {
        if (JsonIn.String(root, "Datacenter") is { Length: > 0 } dc && dc != datacenter)
            throw ApiException.BadRequest($"No path to datacenter \"{dc}\"");
    }

    private static void RequireObject(JsonElement e, string what)
    {
        if (e.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"Request decode failed: {what} must be a JSON object");
    }

    private static bool Bool(JsonElement obj, string name) => !JsonIn.TryGet(obj, name, out var v) ? false
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
        : throw ApiException.BadRequest($"Request decode failed: {name} must be a boolean");

    private static ImmutableDictionary<string, string> StringMap(JsonElement obj, string name)
    {
        if (!JsonIn.TryGet(obj, name, out var v)) return ImmutableDictionary<string, string>.Empty;
        if (v.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"Request decode failed: {name} must be an object of strings");
        var b = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
        {
            b[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()!
                : throw ApiException.BadRequest($"Request decode failed: {name}.{p.Name} must be a string");
        }
        return b.ToImmutable();
    }

    private static ImmutableDictionary<string, ServiceAddress> ServiceAddresses(JsonElement s)
    {
        if (!JsonIn.TryGet(s, "TaggedAddresses", out var v)) return ImmutableDictionary<string, ServiceAddress>.Empty;
        if (v.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("Request decode failed: Service.TaggedAddresses must be an object");
        var b = ImmutableDictionary.CreateBuilder<string, ServiceAddress>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
        {
            RequireObject(p.Value, $"Service.TaggedAddresses.{p.Name}");
            var port = JsonIn.UInt64(p.Value, "Port");
            if (port > 65535) throw ApiException.BadRequest($"Invalid Service.TaggedAddresses.{p.Name}.Port {port}");
            b[p.Name] = new ServiceAddress(JsonIn.String(p.Value, "Address") ?? "", (int)port);
        }
        return b.ToImmutable();
    }

    private static ServiceWeights Weights(JsonElement s)
    {
        if (!JsonIn.TryGet(s, "Weights", out var v)) return new ServiceWeights();
        RequireObject(v, "Service.Weights");
        var passing = JsonIn.UInt64(v, "Passing");
        var warning = JsonIn.UInt64(v, "Warning");
        if (passing is < 1 or > int.MaxValue) throw ApiException.BadRequest("Invalid Service.Weights.Passing: must be at least 1");
        if (warning > int.MaxValue) throw ApiException.BadRequest("Invalid Service.Weights.Warning");
        return new ServiceWeights((int)passing, (int)warning);
    }

    /// <summary>An object kept whole, re-serialised compactly so equal content compares equal.</summary>
    private static JsonElement? RawObject(JsonElement obj, string name)
    {
        if (!JsonIn.TryGet(obj, name, out var v)) return null;
        RequireObject(v, name);
        return v;
    }
}
