using System.Text.Json;
using Mesh.Agent.Connect;
using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

// /v1/connect/intentions: Consul's intentions API over service-intentions config entries. Reads: the list (blocking,
// ?filter), exact, match, check and by ID. Writes: upsert and delete by source and destination (exact), and the
// legacy create (POST), update and delete by ID. Shapes and messages are Consul's agent/intentions_endpoint.go and
// agent/consul/intention_endpoint.go; refusals are 400s (Consul answers most with a 500), unknown IDs 404s.
internal sealed partial class HttpApi
{
    /// <summary>Writes single intentions (set by the host).</summary>
    public IntentionWriter? Intentions { get; set; }

    private IntentionWriter IntentionWrites => Intentions ?? throw new InvalidOperationException("intention writes are not wired to the HTTP API");

    private IntentionSet IntentionsOf(Mesh.State.StateView view) =>
        Connect?.Authorizer is Connect.IntentionAuthorizer a ? a.Current(view) : IntentionSet.From(view);

    private Task IntentionsRoot(ApiRequest r) => r.Method == "POST" ? IntentionCreate(r) : IntentionsList(r);

    private Task IntentionsExact(ApiRequest r) => r.Method switch
    {
        "PUT" => IntentionPutExact(r),
        "DELETE" => IntentionDeleteExact(r),
        _ => IntentionGetExact(r),
    };

    private Task IntentionById(ApiRequest r)
    {
        var id = r.Suffix;
        // Consul looks IDs up in a UUID index, whose parse error is a 400 (a malformed ID is the client's mistake).
        if (id.Length != 36) throw ApiException.BadRequest("UUID must be 36 characters");
        if (!Guid.TryParseExact(id, "D", out _)) throw ApiException.BadRequest("UUID improperly formatted");
        return r.Method switch
        {
            "PUT" => IntentionUpdate(r, id),
            "DELETE" => IntentionDelete(r, id),
            _ => IntentionGet(r, id),
        };
    }

    private async Task IntentionsList(ApiRequest r)
    {
        var filter = Filter(r);
        var (_, rules) = await BlockingAsync(r, (v, ws) =>
        {
            v.ConfigEntryList(EntryKinds.ServiceIntentions, ws);
            return (v.TableIndex(TableNames.ConfigEntries), IntentionsOf(v).All);
        }, x => x.Item1).ConfigureAwait(false);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartArray();
            foreach (var rule in rules)
                if (filter is null || Matches(filter, x => WriteIntention(x, rule, complete: true))) WriteIntention(w, rule);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private async Task IntentionGetExact(ApiRequest r)
    {
        var (source, destination) = ExactNames(r);
        var (_, rule) = await BlockingAsync(r, (v, ws) =>
        {
            v.ConfigEntryList(EntryKinds.ServiceIntentions, ws);
            return (v.TableIndex(TableNames.ConfigEntries), IntentionsOf(v).Exact(source, destination));
        }, x => x.Item1).ConfigureAwait(false);
        if (rule is null) throw new ApiException(404, "Intention not found");
        await JsonOut.WriteAsync(r.Http, Pretty(r), w => WriteIntention(w, rule)).ConfigureAwait(false);
    }

    private async Task IntentionGet(ApiRequest r, string id)
    {
        var (_, rule) = await BlockingAsync(r, (v, ws) =>
        {
            v.ConfigEntryList(EntryKinds.ServiceIntentions, ws);
            return (v.TableIndex(TableNames.ConfigEntries), IntentionsOf(v).ById(id));
        }, x => x.Item1).ConfigureAwait(false);
        if (rule is null) throw new ApiException(404, "Intention not found");
        await JsonOut.WriteAsync(r.Http, Pretty(r), w => WriteIntention(w, rule)).ConfigureAwait(false);
    }

    private async Task IntentionPutExact(ApiRequest r)
    {
        var (source, destination) = ExactNames(r);
        var input = ReadIntention(await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false), "Request decode failed");
        await IntentionWriteAsync(async () =>
        {
            await IntentionWrites.UpsertAsync(source, destination, input.Intention, r.Aborted).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), true).ConfigureAwait(false);
    }

    private async Task IntentionDeleteExact(ApiRequest r)
    {
        var (source, destination) = ExactNames(r);
        await IntentionWriteAsync(() => IntentionWrites.DeleteAsync(source, destination, r.Aborted)).ConfigureAwait(false);
        // Deleting by name is idempotent in Consul: true whether or not there was one.
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), true).ConfigureAwait(false);
    }

    private async Task IntentionCreate(ApiRequest r)
    {
        var input = ReadIntention(await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false), "Failed to decode request body");
        if (input.Id.Length > 0) throw ApiException.BadRequest("ID must be empty when creating a new intention");
        var id = await IntentionWriteAsync(() => IntentionWrites.CreateLegacyAsync(input.Intention, r.Aborted)).ConfigureAwait(false);
        await WriteIdAsync(r, id).ConfigureAwait(false);
    }

    private async Task IntentionUpdate(ApiRequest r, string id)
    {
        // The ID comes from the path; one in the body is ignored, as Consul overwrites it.
        var input = ReadIntention(await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false), "Request decode failed");
        await IntentionWriteAsync(async () =>
        {
            await IntentionWrites.UpdateLegacyAsync(id, input.Intention, r.Aborted).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        await WriteIdAsync(r, id).ConfigureAwait(false);
    }

    private async Task IntentionDelete(ApiRequest r, string id)
    {
        await IntentionWriteAsync(async () =>
        {
            await IntentionWrites.DeleteLegacyAsync(id, r.Aborted).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), true).ConfigureAwait(false);
    }

    private Task WriteIdAsync(ApiRequest r, string id) => JsonOut.WriteAsync(r.Http, Pretty(r), w =>
    {
        w.WriteStartObject();
        w.WriteString("ID", id);
        w.WriteEndObject();
    });

    private async Task IntentionsMatch(ApiRequest r)
    {
        var by = r.Get("by") ?? "";
        if (by.Length == 0) throw ApiException.BadRequest("required query parameter 'by' not set");
        if (by is not ("source" or "destination")) throw ApiException.BadRequest("'by' parameter must be one of 'source' or 'destination'");
        var names = r.GetAll("name");
        if (names.Count == 0) throw ApiException.BadRequest("required query parameter 'name' not set");
        var parsed = names.Select(n => IntentionName(n, "name")).ToList();
        var (_, set) = await BlockingAsync(r, (v, ws) =>
        {
            v.ConfigEntryList(EntryKinds.ServiceIntentions, ws);
            return (v.TableIndex(TableNames.ConfigEntries), IntentionsOf(v));
        }, x => x.Item1).ConfigureAwait(false);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            // Keyed by the names as asked for; a name asked twice answers once, as a Go map does.
            var written = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < names.Count; i++)
            {
                if (!written.Add(names[i])) continue;
                w.WriteStartArray(names[i]);
                foreach (var rule in set.Match(parsed[i], by == "destination")) WriteIntention(w, rule);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task IntentionsCheck(ApiRequest r)
    {
        var (source, destination) = (r.Get("source") ?? "", r.Get("destination") ?? "");
        if (source.Length == 0) throw ApiException.BadRequest("required query parameter 'source' not set");
        if (destination.Length == 0) throw ApiException.BadRequest("required query parameter 'destination' not set");
        (source, destination) = (IntentionName(source, "source"), IntentionName(destination, "destination"));
        var view = _store.View();
        var set = IntentionsOf(view);
        bool allowed;
        if (set.Decide(source, destination) is { } match) allowed = !match.IsL7 && match.Action == "allow";
        else allowed = _config.DefaultIntentionPolicy.Length > 0 ? _config.DefaultIntentionPolicy == "allow" : true;
        SetMeta(r, view.TableIndex(TableNames.ConfigEntries), r.QueryOptions());
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("Allowed", allowed);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>The source and destination of the exact routes, required and parsed as Consul parses them.</summary>
    private static (string Source, string Destination) ExactNames(ApiRequest r)
    {
        var (source, destination) = (r.Get("source") ?? "", r.Get("destination") ?? "");
        if (source.Length == 0) throw ApiException.BadRequest("required query parameter 'source' not set");
        if (destination.Length == 0) throw ApiException.BadRequest("required query parameter 'destination' not set");
        return (IntentionName(source, "source"), IntentionName(destination, "destination"));
    }

    /// <summary>
    /// A service named in a query: <c>name</c>, <c>namespace/name</c> or <c>partition/namespace/name</c>, as Consul
    /// reads them. Only the default namespace and partition exist here, so any other is refused rather than ignored.
    /// </summary>
    private static string IntentionName(string input, string what)
    {
        string Invalid(string why) => throw ApiException.BadRequest($"{what} {EntryValidator.Quote(input)} is invalid: {why}");
        if (input.StartsWith("peer:", StringComparison.Ordinal)) return Invalid("cannot specify a peer here");
        var parts = input.Split('/');
        if (parts.Length > 3) return Invalid("input can contain at most two '/'");
        foreach (var tenancy in parts[..^1])
            if (tenancy is not ("" or "default")) return Invalid($"namespace or partition {EntryValidator.Quote(tenancy)} is not supported: only \"default\" exists");
        return parts[^1].Length == 0 ? Invalid("a service name is required") : parts[^1];
    }

    /// <summary>What an intention body holds: the intention, and the ID the legacy create refuses.</summary>
    private sealed record IntentionBody(IntentionInput Intention, string Id);

    /// <summary>
    /// Reads an intention body as Go's decoder reads Consul's <c>structs.Intention</c>: names regardless of case,
    /// unknown fields (the read-only ones a client sends back: Precedence, CreatedAt, Hash...) ignored, a wrong type
    /// a 400 that names the field.
    /// </summary>
    private static IntentionBody ReadIntention(byte[] body, string failure)
    {
        if (body.Length == 0) throw ApiException.BadRequest($"{failure}: EOF");
        using var doc = JsonIn.Parse(body, failure);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"{failure}: an intention must be a JSON object");

        string Str(string name) => !JsonIn.TryGet(root, name, out var v) ? ""
            : v.ValueKind == JsonValueKind.String ? v.GetString()! : throw ApiException.BadRequest($"{failure}: {name} must be a string");

        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        if (JsonIn.TryGet(root, "Meta", out var m))
        {
            if (m.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"{failure}: Meta must be an object of strings");
            foreach (var p in m.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw ApiException.BadRequest($"{failure}: Meta[{EntryValidator.Quote(p.Name)}] must be a string");
                meta[p.Name] = p.Value.GetString()!;
            }
        }

        var intention = new IntentionInput
        {
            SourceNS = Str("SourceNS"),
            SourceName = Str("SourceName"),
            SourcePartition = Str("SourcePartition"),
            DestinationNS = Str("DestinationNS"),
            DestinationName = Str("DestinationName"),
            DestinationPartition = Str("DestinationPartition"),
            SourceType = Str("SourceType"),
            Action = Str("Action"),
            Description = Str("Description"),
            Meta = meta,
            Permissions = JsonIn.TryGet(root, "Permissions", out var permissions) ? ReadPermissions(permissions, failure) : [],
        };
        if (Str("SourcePeer").Length > 0) throw ApiException.BadRequest("SourcePeer field is not supported on this endpoint. Use config entries instead");
        return new IntentionBody(intention, Str("ID"));
    }

    /// <summary>
    /// L7 permissions, read by the config-entry codec (snake_case too, unknown fields refused) so they are exactly
    /// what a <c>service-intentions</c> entry would hold.
    /// </summary>
    private static IReadOnlyList<IntentionPermission> ReadPermissions(JsonElement permissions, string failure)
    {
        if (permissions.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"{failure}: Permissions must be an array");
        var wrapped = $$"""{"Kind":"service-intentions","Name":"d","Sources":[{"Name":"s","Permissions":{{permissions.GetRawText()}}}]}""";
        using var doc = JsonDocument.Parse(wrapped);
        try
        {
            return ((ServiceIntentionsEntry)EntryCodec.Read(doc.RootElement)).Sources![0].Permissions ?? [];
        }
        catch (ConfigEntryException ex)
        {
            throw ApiException.BadRequest($"{failure}: {ex.Message.Replace("Sources[0].", "", StringComparison.Ordinal)}");
        }
    }

    private static async Task<T> IntentionWriteAsync<T>(Func<Task<T>> write)
    {
        try
        {
            return await write().ConfigureAwait(false);
        }
        catch (ConfigEntryException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
        catch (IntentionNotFoundException ex)
        {
            throw new ApiException(404, ex.Message);
        }
        catch (ConfigEntryContentionException ex)
        {
            throw new ApiException(409, ex.Message);
        }
    }

    /// <summary>
    /// An intention in Consul's shape. Empty optional fields are left out as Consul leaves them out, except when
    /// <paramref name="complete"/> (what <c>?filter</c> evaluates, where every field must exist).
    /// </summary>
    private static void WriteIntention(Utf8JsonWriter w, IntentionRule rule, bool complete = false)
    {
        w.WriteStartObject();
        if (complete || rule.LegacyId.Length > 0) w.WriteString("ID", rule.LegacyId);
        if (complete || rule.Description.Length > 0) w.WriteString("Description", rule.Description);
        w.WriteString("SourceNS", "default");
        w.WriteString("SourceName", rule.Source);
        w.WriteString("DestinationNS", "default");
        w.WriteString("DestinationName", rule.Destination);
        w.WriteString("SourcePartition", "default");
        w.WriteString("DestinationPartition", "default");
        w.WriteString("SourceType", "consul");
        if (complete || rule.Action.Length > 0) w.WriteString("Action", rule.Action);
        if (rule.IsL7)
        {
            w.WritePropertyName("Permissions");
            JsonSerializer.Serialize(w, rule.Permissions, ConfigEntryJson.Options);
        }
        // An intention the legacy API made always has its (possibly empty) metadata, as Consul keeps a non-nil map.
        if (complete || rule.Meta.Count > 0 || rule.LegacyId.Length > 0) JsonOut.StringMap(w, "Meta", rule.Meta);
        w.WriteNumber("Precedence", rule.Precedence);
        if (rule.CreatedAt is { } created) w.WriteString("CreatedAt", created.ToUniversalTime());
        if (rule.UpdatedAt is { } updated) w.WriteString("UpdatedAt", updated.ToUniversalTime());
        w.WriteNumber("CreateIndex", rule.CreateIndex);
        w.WriteNumber("ModifyIndex", rule.ModifyIndex);
        w.WriteEndObject();
    }
}
