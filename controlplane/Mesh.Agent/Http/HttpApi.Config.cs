using Mesh.Agent.Connect;
using Mesh.Connect.Entries;
using Mesh.State.Filtering;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

// Config entries: PUT /v1/config (?cas), GET /v1/config/<kind> (blocking list, ?filter), GET /v1/config/<kind>/<name>
// (blocking), DELETE /v1/config/<kind>/<name> (?cas). Shapes and messages are Consul's agent/config_endpoint.go, except
// that an invalid entry is a 400 here (Consul's RPC error surfaces as a 500).
internal sealed partial class HttpApi
{
    /// <summary>Writes config entries (set by the host).</summary>
    public ConfigEntryWriter? ConfigEntries { get; set; }

    private ConfigEntryWriter EntryWriter => ConfigEntries ?? throw new InvalidOperationException("config entries are not wired to the HTTP API");

    private async Task ConfigApply(ApiRequest r)
    {
        var cas = ConfigCas(r);
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        if (body.Length == 0) throw ApiException.BadRequest("Request decoding failed: a config entry is required");
        ConfigEntry entry;
        using (var doc = JsonIn.Parse(body, "Request decoding failed"))
        {
            try
            {
                entry = EntryCodec.Read(doc.RootElement);
            }
            catch (ConfigEntryException ex)
            {
                throw ApiException.BadRequest("Request decoding failed: " + ex.Message);
            }
        }
        var written = await WriteEntryAsync(() => EntryWriter.SetAsync(entry, cas, r.Aborted)).ConfigureAwait(false);
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), written).ConfigureAwait(false);
    }

    private Task Config(ApiRequest r)
    {
        // "<kind>" lists, "<kind>/<name>" names one entry; a name may itself hold slashes.
        var slash = r.Suffix.IndexOf('/', StringComparison.Ordinal);
        var kind = slash < 0 ? r.Suffix : r.Suffix[..slash];
        var name = slash < 0 ? null : r.Suffix[(slash + 1)..];
        if (r.Method == "DELETE") return ConfigDelete(r, kind, name);
        return name is null ? ConfigList(r, kind) : ConfigGet(r, kind, name);
    }

    private async Task ConfigList(ApiRequest r, string kind)
    {
        // An empty kind lists every entry, as Consul's list does.
        if (kind.Length > 0) RequireKind(kind);
        var filter = Filter(r);
        var (_, rows) = await BlockingAsync(r, (v, ws) => v.ConfigEntryList(kind.Length == 0 ? null : kind, ws), x => x.Index).ConfigureAwait(false);
        var selected = filter is null ? rows : rows.Where(row => EntryMatches(filter, row)).ToList();
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartArray();
            foreach (var row in selected) EntryCodec.WriteStored(w, row.Json, row.CreateIndex, row.ModifyIndex);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private bool EntryMatches(FilterExpression filter, ConfigEntryRow row)
    {
        if (EntryWriter.Entries([row]) is not [var entry]) return false;
        using var doc = EntryCodec.ToFilterable(entry);
        try
        {
            return filter.Matches(doc.RootElement);
        }
        catch (FilterException ex)
        {
            throw ApiException.BadRequest($"Failed to evaluate filter: {ex.Message}");
        }
    }

    private async Task ConfigGet(ApiRequest r, string kind, string name)
    {
        RequireKind(kind);
        var (_, row) = await BlockingAsync(r, (v, ws) => v.ConfigEntryGet(kind, name, ws), x => x.Index).ConfigureAwait(false);
        if (row is null)
        {
            // Written directly so the index headers stay: a client can block until the entry appears.
            await WriteTextAsync(r.Http, 404, $"Config entry not found for {EntryValidator.Quote(kind)} / {EntryValidator.Quote(name)}").ConfigureAwait(false);
            return;
        }
        await JsonOut.WriteAsync(r.Http, Pretty(r), w => EntryCodec.WriteStored(w, row.Json, row.CreateIndex, row.ModifyIndex)).ConfigureAwait(false);
    }

    private async Task ConfigDelete(ApiRequest r, string kind, string? name)
    {
        if (name is null) throw new ApiException(404, "Must provide both a kind and name to delete");
        RequireKind(kind);
        // Consul names an unnamed proxy-defaults "global", on delete as on write.
        if (kind == EntryKinds.ProxyDefaults && name.Length == 0) name = ProxyDefaultsEntry.GlobalName;
        var cas = ConfigCas(r);
        var deleted = await WriteEntryAsync(() => EntryWriter.DeleteAsync(kind, name, cas, r.Aborted)).ConfigureAwait(false);
        // Consul answers true/false only to a check-and-set delete, and an empty object otherwise.
        if (cas is not null) await JsonOut.WriteBoolAsync(r.Http, Pretty(r), deleted).ConfigureAwait(false);
        else await JsonOut.WriteAsync(r.Http, Pretty(r), w => { w.WriteStartObject(); w.WriteEndObject(); }).ConfigureAwait(false);
    }

    private static async Task<bool> WriteEntryAsync(Func<Task<bool>> write)
    {
        try
        {
            return await write().ConfigureAwait(false);
        }
        catch (ConfigEntryException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
        catch (ConfigEntryContentionException ex)
        {
            throw new ApiException(409, ex.Message);
        }
    }

    private static void RequireKind(string kind)
    {
        if (!EntryKinds.All.Contains(kind)) throw ApiException.BadRequest($"invalid config entry kind: {kind}");
    }

    /// <summary><c>?cas=</c>: absent or empty means no check-and-set (as Consul reads it); otherwise an unsigned index.</summary>
    private static ulong? ConfigCas(ApiRequest r) => r.Get("cas") is null ? null : r.UInt64("cas");
}
