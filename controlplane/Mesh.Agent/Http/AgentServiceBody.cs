using Mesh.State.Text;
using System.Collections.Immutable;
using System.Text.Json;
using Mesh.Agent.Checks;
using Mesh.Agent.Config;
using Mesh.Agent.Local;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

/// <summary>
/// Reads <c>/v1/agent/service/register</c> and <c>/v1/agent/check/register</c> bodies (PascalCase or snake_case, as
/// Consul's agent), fills in Consul's defaults, and expands <c>Connect.SidecarService</c> into its own proxy service.
/// Every refusal is a 400 that names the field.
/// </summary>
internal static class AgentServiceBody
{
    /// <summary>Ports handed to sidecar proxies that name none (Consul's <c>sidecar_min_port</c>–<c>sidecar_max_port</c>).</summary>
    public const int SidecarMinPort = 21000, SidecarMaxPort = 21255;

    private static readonly HashSet<string> Kinds = ["", "connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway"];

    /// <summary>A parsed registration: the service, its checks, and its sidecar (with the sidecar's checks) if asked for.</summary>
    public sealed record Registration(ServiceInstance Service, IReadOnlyList<LocalCheckSpec> Checks,
        ServiceInstance? Sidecar, IReadOnlyList<LocalCheckSpec> SidecarChecks);

    public static Registration Service(JsonElement root, string node, IReadOnlyCollection<ServiceInstance> existing)
    {
        Require(root, "the body");
        var name = JsonIn.String(root, "Name") ?? "";
        if (name.Length == 0) throw ApiException.BadRequest("Missing service name");
        var service = ServiceFields(root, node, name, "");
        var checks = ServiceChecks(root, service, "");

        ServiceInstance? sidecar = null;
        IReadOnlyList<LocalCheckSpec> sidecarChecks = [];
        if (JsonIn.TryGet(root, "Connect", out var connect))
        {
            Require(connect, "Connect");
            if (JsonIn.TryGet(connect, "SidecarService", out var sc))
            {
                Require(sc, "Connect.SidecarService");
                if (service.Kind == "connect-proxy") throw ApiException.BadRequest("Connect.SidecarService: a proxy cannot have a sidecar");
                (sidecar, sidecarChecks) = Sidecar(sc, service, node, existing);
            }
        }
        return new Registration(service, checks, sidecar, sidecarChecks);
    }

    public static LocalCheckSpec Check(JsonElement root)
    {
        Require(root, "the body");
        var name = JsonIn.String(root, "Name") ?? "";
        if (name.Length == 0) throw ApiException.BadRequest("Missing check name");
        var id = JsonIn.String(root, "CheckID") ?? JsonIn.String(root, "ID") ?? "";
        return CheckSpec(root, id.Length > 0 ? id : name, name, JsonIn.String(root, "ServiceID") ?? "", "");
    }

    private static ServiceInstance ServiceFields(JsonElement s, string node, string name, string field)
    {
        var kind = JsonIn.String(s, "Kind") ?? "";
        if (!Kinds.Contains(kind)) throw ApiException.BadRequest($"Invalid {field}Kind \"{kind}\"");
        var port = Int(s, "Port", field);
        if (port is < 0 or > 65535) throw ApiException.BadRequest($"Invalid {field}Port {port}");
        string? proxy = null;
        if (JsonIn.TryGet(s, "Proxy", out var p))
        {
            Require(p, field + "Proxy");
            proxy = ConnectBlocks.Proxy(p);
        }
        if (kind == "connect-proxy" && (proxy is null || JsonIn.String(p, "DestinationServiceName") is not { Length: > 0 }))
            throw ApiException.BadRequest($"{field}Proxy.DestinationServiceName must be set for a connect-proxy");
        string? connect = null;
        if (JsonIn.TryGet(s, "Connect", out var c))
        {
            // The sidecar is registered as a service of its own; the parent keeps only the rest of its Connect block.
            Require(c, field + "Connect");
            connect = ConnectBlocks.Connect(c);
        }
        return new ServiceInstance
        {
            Node = node,
            ID = JsonIn.String(s, "ID") is { Length: > 0 } id ? id : name,
            Service = name,
            Tags = [.. JsonIn.Strings(s, "Tags")],
            Address = JsonIn.String(s, "Address") ?? "",
            Meta = StringMap(s, "Meta", field),
            Port = port,
            Weights = Weights(s, field),
            EnableTagOverride = Bool(s, "EnableTagOverride", field),
            Kind = kind,
            ProxyJson = proxy,
            ConnectJson = connect,
        };
    }

    private static List<LocalCheckSpec> ServiceChecks(JsonElement s, ServiceInstance service, string field)
    {
        var bodies = new List<JsonElement>();
        if (JsonIn.TryGet(s, "Check", out var one)) bodies.Add(one);
        if (JsonIn.TryGet(s, "Checks", out var many))
        {
            if (many.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"Request decode failed: {field}Checks must be an array");
            bodies.AddRange(many.EnumerateArray());
        }
        var specs = new List<LocalCheckSpec>();
        for (var i = 0; i < bodies.Count; i++)
        {
            var b = bodies[i];
            Require(b, $"{field}Checks[{i}]");
            // Consul's defaults: "service:<id>", numbered when there are several, and a name naming the service.
            var id = JsonIn.String(b, "CheckID") ?? JsonIn.String(b, "ID") ?? "";
            if (id.Length == 0) id = bodies.Count == 1 ? $"service:{service.ID}" : $"service:{service.ID}:{i + 1}";
            var name = JsonIn.String(b, "Name") is { Length: > 0 } n ? n : $"Service '{service.Service}' check";
            specs.Add(CheckSpec(b, id, name, service.ID, $"{field}Checks[{i}]."));
        }
        return specs;
    }

    private static LocalCheckSpec CheckSpec(JsonElement b, string id, string name, string serviceId, string field)
    {
        var status = JsonIn.String(b, "Status") is { Length: > 0 } st ? st : HealthStatus.Critical;
        if (!HealthStatus.IsValid(status)) throw ApiException.BadRequest($"Invalid {field}Status \"{status}\"");
        var aliasService = JsonIn.String(b, "AliasService");
        var aliasNode = JsonIn.String(b, "AliasNode");
        var definition = new CheckDefinition
        {
            CheckID = id,
            Name = name,
            Notes = JsonIn.String(b, "Notes") ?? "",
            ServiceID = serviceId,
            Status = status,
            Interval = Duration(b, "Interval", field),
            Timeout = Duration(b, "Timeout", field),
            HTTP = JsonIn.String(b, "HTTP") ?? "",
            Method = JsonIn.String(b, "Method") is { Length: > 0 } m ? m : "GET",
            Header = Headers(b, field),
            Body = JsonIn.String(b, "Body") ?? "",
            TLSSkipVerify = Bool(b, "TLSSkipVerify", field),
            TCP = JsonIn.String(b, "TCP") ?? "",
            UDP = JsonIn.String(b, "UDP") ?? "",
            TTL = Duration(b, "TTL", field),
            Args = JsonIn.TryGet(b, "Args", out _) ? JsonIn.Strings(b, "Args") : JsonIn.TryGet(b, "ScriptArgs", out _) ? JsonIn.Strings(b, "ScriptArgs") : null,
            GRPC = JsonIn.String(b, "GRPC") ?? "",
            GRPCUseTLS = Bool(b, "GRPCUseTLS", field),
            SuccessBeforePassing = Int(b, "SuccessBeforePassing", field),
            FailuresBeforeCritical = Int(b, "FailuresBeforeCritical", field),
            DeregisterCriticalServiceAfter = Duration(b, "DeregisterCriticalServiceAfter", field),
        };
        string type;
        if (aliasService is { Length: > 0 } || aliasNode is { Length: > 0 })
        {
            if (definition.IsIntervalCheck || definition.TTL > TimeSpan.Zero)
                throw ApiException.BadRequest($"{field}AliasService/AliasNode cannot be combined with another check type");
            type = "alias";
        }
        else
        {
            if (definition.Validate() is { } problem) throw ApiException.BadRequest(field + problem);
            type = definition.HTTP.Length > 0 ? "http" : definition.TCP.Length > 0 ? "tcp" : definition.UDP.Length > 0 ? "udp"
                : definition.GRPC.Length > 0 ? "grpc" : definition.IsScript ? "script" : "ttl";
        }
        return new LocalCheckSpec(definition, type, aliasService is { Length: > 0 } ? aliasService : null,
            aliasNode is { Length: > 0 } ? aliasNode : null);
    }

    private static (ServiceInstance, IReadOnlyList<LocalCheckSpec>) Sidecar(JsonElement sc, ServiceInstance parent, string node,
        IReadOnlyCollection<ServiceInstance> existing)
    {
        const string field = "Connect.SidecarService.";
        var id = JsonIn.String(sc, "ID") is { Length: > 0 } sid ? sid : $"{parent.ID}-sidecar-proxy";
        var name = JsonIn.String(sc, "Name") is { Length: > 0 } sn ? sn : $"{parent.Service}-sidecar-proxy";
        var port = Int(sc, "Port", field);
        if (port == 0)
        {
            // Reuse the port this sidecar already has, else the first free one in the sidecar range.
            var taken = existing.Where(s => s.ID != id).Select(s => s.Port).ToHashSet();
            port = existing.FirstOrDefault(s => s.ID == id)?.Port is { } mine && mine != 0 ? mine
                : Enumerable.Range(SidecarMinPort, SidecarMaxPort - SidecarMinPort + 1).FirstOrDefault(p => !taken.Contains(p));
            if (port == 0) throw ApiException.BadRequest($"No free sidecar port left in {SidecarMinPort}-{SidecarMaxPort}");
        }
        if (port is < 0 or > 65535) throw ApiException.BadRequest($"Invalid {field}Port {port}");

        // The proxy block: what was given, with the destination and local app filled in from the parent.
        var proxy = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (JsonIn.TryGet(sc, "Proxy", out var p))
        {
            Require(p, field + "Proxy");
            foreach (var x in p.EnumerateObject()) proxy[x.Name] = x.Value.Clone();
        }
        void Default(string key, object value)
        {
            if (!proxy.Keys.Any(k => k.Replace("_", "", StringComparison.Ordinal).Equals(key, StringComparison.OrdinalIgnoreCase)))
                proxy[key] = JsonSerializer.SerializeToElement(value);
        }
        Default("DestinationServiceName", parent.Service);
        Default("DestinationServiceID", parent.ID);
        Default("LocalServiceAddress", "127.0.0.1");
        Default("LocalServicePort", parent.Port);

        var sidecar = new ServiceInstance
        {
            Node = node,
            ID = id,
            Service = name,
            Kind = "connect-proxy",
            Tags = JsonIn.TryGet(sc, "Tags", out _) ? [.. JsonIn.Strings(sc, "Tags")] : parent.Tags,
            Meta = JsonIn.TryGet(sc, "Meta", out _) ? StringMap(sc, "Meta", field) : parent.Meta,
            Address = JsonIn.String(sc, "Address") ?? "",
            Port = port,
            Weights = parent.Weights,
            ProxyJson = ConnectBlocks.Proxy(JsonSerializer.SerializeToElement(proxy)),
        };

        var given = ServiceChecks(sc, sidecar, field);
        if (given.Count > 0) return (sidecar, given);
        // Consul's defaults: the proxy's port answers, and the proxy mirrors the health of the service it fronts.
        var address = sidecar.Address.Length > 0 ? sidecar.Address : "127.0.0.1";
        IReadOnlyList<LocalCheckSpec> defaults =
        [
            new(new CheckDefinition
            {
                CheckID = $"service:{id}:1", Name = "Connect Sidecar Listening", ServiceID = id,
                TCP = $"{address}:{port}", Interval = TimeSpan.FromSeconds(10),
            }, "tcp", null),
            new(new CheckDefinition
            {
                CheckID = $"service:{id}:2", Name = $"Connect Sidecar Aliasing {parent.ID}", ServiceID = id,
            }, "alias", parent.ID),
        ];
        return (sidecar, defaults);
    }

    private static void Require(JsonElement e, string what)
    {
        if (e.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"Request decode failed: {what} must be a JSON object");
    }

    private static bool Bool(JsonElement obj, string name, string field) => !JsonIn.TryGet(obj, name, out var v) ? false
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
        : throw ApiException.BadRequest($"Request decode failed: {field}{name} must be a boolean");

    private static int Int(JsonElement obj, string name, string field) => !JsonIn.TryGet(obj, name, out var v) ? 0
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n
        : throw ApiException.BadRequest($"Request decode failed: {field}{name} must be an integer");

    private static TimeSpan Duration(JsonElement obj, string name, string field)
    {
        if (!JsonIn.TryGet(obj, name, out var v)) return TimeSpan.Zero;
        if (v.ValueKind == JsonValueKind.String && GoDuration.TryParse(v.GetString(), out var d) && d >= TimeSpan.Zero) return d;
        // Go's JSON decoding of a time.Duration also takes a number of nanoseconds.
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var ns) && ns >= 0) return TimeSpan.FromTicks(ns / 100);
        throw ApiException.BadRequest($"Invalid {field}{name}: a duration such as \"10s\" is required");
    }

    private static ImmutableDictionary<string, string> StringMap(JsonElement obj, string name, string field)
    {
        if (!JsonIn.TryGet(obj, name, out var v)) return ImmutableDictionary<string, string>.Empty;
        if (v.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"Request decode failed: {field}{name} must be an object of strings");
        return v.EnumerateObject().ToImmutableDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()!
            : throw ApiException.BadRequest($"Request decode failed: {field}{name}.{p.Name} must be a string"), StringComparer.Ordinal);
    }

    private static IReadOnlyDictionary<string, IReadOnlyList<string>>? Headers(JsonElement obj, string field)
    {
        if (!JsonIn.TryGet(obj, "Header", out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"Request decode failed: {field}Header must be an object of string arrays");
        return v.EnumerateObject().ToDictionary(p => p.Name, p => (IReadOnlyList<string>)(p.Value.ValueKind == JsonValueKind.Array
            ? p.Value.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()!
                : throw ApiException.BadRequest($"Request decode failed: {field}Header.{p.Name} must hold strings")).ToList()
            : throw ApiException.BadRequest($"Request decode failed: {field}Header.{p.Name} must be an array of strings")));
    }

    private static ServiceWeights Weights(JsonElement s, string field)
    {
        if (!JsonIn.TryGet(s, "Weights", out var v)) return new ServiceWeights();
        Require(v, field + "Weights");
        var passing = JsonIn.TryGet(v, "Passing", out _) ? Int(v, "Passing", field + "Weights.") : 1;
        var warning = JsonIn.TryGet(v, "Warning", out _) ? Int(v, "Warning", field + "Weights.") : 1;
        if (passing < 1) throw ApiException.BadRequest($"Invalid {field}Weights.Passing: must be at least 1");
        if (warning < 0) throw ApiException.BadRequest($"Invalid {field}Weights.Warning");
        return new ServiceWeights(passing, warning);
    }
}
