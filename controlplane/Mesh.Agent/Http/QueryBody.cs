using Mesh.State.Text;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Mesh.Agent.Config;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

/// <summary>
/// Reads <c>POST /v1/query</c> and <c>PUT /v1/query/&lt;id&gt;</c> bodies and checks them as Consul's
/// <c>PreparedQuery.Apply</c> does before the write (<c>parseQuery</c>): the rules that need the store (unique names,
/// the session, the template) are the FSM's. Every problem is a 400 with Consul's wording.
/// </summary>
internal static class QueryBody
{
    /// <summary>What Consul shows in place of a token the caller may not see; never a real token.</summary>
    public const string RedactedToken = "<hidden>";

    private const int MetaMaxKeyPairs = 64;
    private const int MetaKeyMaxLength = 128;
    private const int MetaValueMaxLength = 512;

    /// <summary>
    /// Reads a query definition stored under <paramref name="id"/>; an empty body is an empty definition (which then
    /// fails validation). A body's own <c>ID</c> is ignored, except that a create (<paramref name="creating"/>) may
    /// not carry one: the server chooses it.
    /// </summary>
    public static PreparedQuery Parse(byte[] body, string id, bool creating)
    {
        if (body.Length == 0) return new PreparedQuery { ID = id };
        using var doc = JsonIn.Parse(body);
        var root = doc.RootElement;
        RequireObject(root, "the body");
        if (creating && String(root, "ID").Length > 0) throw ApiException.BadRequest("ID must be empty when creating a new prepared query");
        var query = new PreparedQuery
        {
            ID = id,
            Name = String(root, "Name"),
            Session = String(root, "Session"),
            Token = String(root, "Token"),
        };
        if (JsonIn.TryGet(root, "Template", out var t))
        {
            RequireObject(t, "Template");
            query = query with
            {
                Template = new QueryTemplateOptions
                {
                    Type = String(t, "Type", "Template."),
                    Regexp = String(t, "Regexp", "Template."),
                    RemoveEmptyTags = Bool(t, "RemoveEmptyTags", "Template."),
                },
            };
        }
        if (JsonIn.TryGet(root, "Service", out var s)) query = query with { Service = Service(s) };
        if (JsonIn.TryGet(root, "DNS", out var d))
        {
            RequireObject(d, "DNS");
            query = query with { DNS = new QueryDnsOptions { TTL = String(d, "TTL", "DNS.") } };
        }
        return query;
    }

    /// <summary>Consul's <c>parseQuery</c>: null when <paramref name="q"/> may be written, else why not.</summary>
    public static string? Validate(PreparedQuery q)
    {
        // An anonymous query could never be found again nor cleaned up: it needs a session to end it.
        if (q.Name.Length == 0 && !q.IsTemplate && q.Session.Length == 0) return "Must be bound to a session";
        if (q.Token == RedactedToken)
            return $"Bad Token '{q.Token}', it looks like a query definition with a redacted token was submitted";
        var s = q.Service;
        if (s.Service.Length == 0) return "Must provide a Service name to query";
        if (s.Failover.NearestN < 0) return $"Bad NearestN '{s.Failover.NearestN}', must be >= 0";
        if ((s.Failover.NearestN != 0 || s.Failover.Datacenters.Length > 0) && s.Failover.Targets.Length > 0)
            return "Targets cannot be populated with NearestN or Datacenters";
        if (MetaProblem(s.NodeMeta) is { } meta) return meta;
        if (q.DNS.TTL.Length > 0)
        {
            if (!GoDuration.TryParse(q.DNS.TTL, out var ttl)) return $"Bad DNS TTL '{q.DNS.TTL}': time: invalid duration \"{q.DNS.TTL}\"";
            // Consul prints the duration with %d: nanoseconds.
            if (ttl < TimeSpan.Zero) return $"DNS TTL '{(ttl.Ticks * 100).ToString(CultureInfo.InvariantCulture)}', must be >=0";
        }
        return null;
    }

    /// <summary>Consul's node-metadata rules (keys of letters, digits, '-' and '_'; sizes), as it checks a query's <c>NodeMeta</c>.</summary>
    private static string? MetaProblem(IReadOnlyDictionary<string, string> meta)
    {
        if (meta.Count > MetaMaxKeyPairs) return $"Node metadata cannot contain more than {MetaMaxKeyPairs} key/value pairs";
        foreach (var (key, value) in meta.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            string? why = key.Length == 0 ? "Key cannot be blank"
                : !key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? "Key contains invalid characters"
                : key.Length > MetaKeyMaxLength ? $"Key is too long (limit: {MetaKeyMaxLength} characters)"
                : value.Length > MetaValueMaxLength ? $"Value is too long (limit: {MetaValueMaxLength} characters)"
                : null;
            if (why is not null) return $"Couldn't load metadata pair ('{key}', '{value}'): {why}";
        }
        return null;
    }

    private static ServiceQuery Service(JsonElement s)
    {
        RequireObject(s, "Service");
        var query = new ServiceQuery
        {
            Service = String(s, "Service", "Service."),
            OnlyPassing = Bool(s, "OnlyPassing", "Service."),
            IgnoreCheckIDs = Strings(s, "IgnoreCheckIDs", "Service."),
            Near = String(s, "Near", "Service."),
            Tags = Strings(s, "Tags", "Service."),
            NodeMeta = StringMap(s, "NodeMeta", "Service."),
            ServiceMeta = StringMap(s, "ServiceMeta", "Service."),
            Connect = Bool(s, "Connect", "Service."),
        };
        if (JsonIn.TryGet(s, "Failover", out var f))
        {
            RequireObject(f, "Service.Failover");
            var targets = ImmutableArray.CreateBuilder<QueryFailoverTarget>();
            if (JsonIn.TryGet(f, "Targets", out var ts))
            {
                if (ts.ValueKind != JsonValueKind.Array) throw Decode("Service.Failover.Targets must be an array of objects");
                var i = 0;
                foreach (var t in ts.EnumerateArray())
                {
                    var at = $"Service.Failover.Targets[{i++}].";
                    RequireObject(t, at.TrimEnd('.'));
                    // Consul's struct field is Peer; its documentation calls it PeerName. Either is read.
                    var peer = String(t, "Peer", at);
                    if (peer.Length == 0) peer = String(t, "PeerName", at);
                    targets.Add(new QueryFailoverTarget { Peer = peer, Datacenter = String(t, "Datacenter", at) });
                }
            }
            query = query with
            {
                Failover = new QueryFailover
                {
                    NearestN = Int(f, "NearestN", "Service.Failover."),
                    Datacenters = Strings(f, "Datacenters", "Service.Failover."),
                    Targets = targets.ToImmutable(),
                },
            };
        }
        return query;
    }

    private static ApiException Decode(string what) => ApiException.BadRequest("Request decode failed: " + what);

    private static void RequireObject(JsonElement e, string what)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Decode($"{what} must be a JSON object");
    }

    private static string String(JsonElement obj, string name, string at = "") => !JsonIn.TryGet(obj, name, out var v) ? ""
        : v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Decode($"{at}{name} must be a string");

    private static bool Bool(JsonElement obj, string name, string at) => !JsonIn.TryGet(obj, name, out var v) ? false
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Decode($"{at}{name} must be a boolean");

    private static int Int(JsonElement obj, string name, string at) => !JsonIn.TryGet(obj, name, out var v) ? 0
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n : throw Decode($"{at}{name} must be an integer");

    private static ImmutableArray<string> Strings(JsonElement obj, string name, string at)
    {
        if (!JsonIn.TryGet(obj, name, out var v)) return [];
        if (v.ValueKind != JsonValueKind.Array) throw Decode($"{at}{name} must be an array of strings");
        return [.. v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Decode($"{at}{name} must be an array of strings"))];
    }

    private static ImmutableDictionary<string, string> StringMap(JsonElement obj, string name, string at)
    {
        if (!JsonIn.TryGet(obj, name, out var v)) return ImmutableDictionary<string, string>.Empty;
        if (v.ValueKind != JsonValueKind.Object) throw Decode($"{at}{name} must be an object of strings");
        var b = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
            b[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw Decode($"{at}{name}.{p.Name} must be a string");
        return b.ToImmutable();
    }
}
