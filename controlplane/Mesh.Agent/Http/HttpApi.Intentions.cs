using System.Text.Json;
using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

// /v1/connect/intentions: the legacy flat view of intentions, which live as service-intentions config entries.
internal sealed partial class HttpApi
{
    private IntentionSet IntentionsOf(Mesh.State.StateView view) =>
        Connect?.Authorizer is Connect.IntentionAuthorizer a ? a.Current(view) : IntentionSet.From(view);

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
                if (filter is null || Matches(filter, x => WriteIntention(x, rule))) WriteIntention(w, rule);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private async Task IntentionsExact(ApiRequest r)
    {
        var (source, destination) = (r.Get("source") ?? "", r.Get("destination") ?? "");
        if (source.Length == 0) throw ApiException.BadRequest("required query parameter 'source' not set");
        if (destination.Length == 0) throw ApiException.BadRequest("required query parameter 'destination' not set");
        var (_, rule) = await BlockingAsync(r, (v, ws) =>
        {
            v.ConfigEntryList(EntryKinds.ServiceIntentions, ws);
            return (v.TableIndex(TableNames.ConfigEntries), IntentionsOf(v).Exact(source, destination));
        }, x => x.Item1).ConfigureAwait(false);
        if (rule is null) throw new ApiException(404, "Intention not found");
        await JsonOut.WriteAsync(r.Http, Pretty(r), w => WriteIntention(w, rule)).ConfigureAwait(false);
    }

    private async Task IntentionsMatch(ApiRequest r)
    {
        var by = r.Get("by") ?? "";
        if (by is not ("source" or "destination")) throw ApiException.BadRequest("'by' must be 'source' or 'destination'");
        var names = r.GetAll("name");
        if (names.Count == 0) throw ApiException.BadRequest("required query parameter 'name' not set");
        var (_, set) = await BlockingAsync(r, (v, ws) =>
        {
            v.ConfigEntryList(EntryKinds.ServiceIntentions, ws);
            return (v.TableIndex(TableNames.ConfigEntries), IntentionsOf(v));
        }, x => x.Item1).ConfigureAwait(false);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            foreach (var name in names)
            {
                w.WriteStartArray(name);
                foreach (var rule in set.Match(name, by == "destination")) WriteIntention(w, rule);
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

    private static void WriteIntention(Utf8JsonWriter w, IntentionRule rule)
    {
        w.WriteStartObject();
        w.WriteString("ID", rule.LegacyId);
        w.WriteString("Description", rule.Description);
        w.WriteString("SourceNS", "default");
        w.WriteString("SourceName", rule.Source);
        w.WriteString("DestinationNS", "default");
        w.WriteString("DestinationName", rule.Destination);
        w.WriteString("SourcePartition", "default");
        w.WriteString("DestinationPartition", "default");
        w.WriteString("SourceType", "consul");
        if (rule.Action.Length > 0) w.WriteString("Action", rule.Action);
        if (rule.IsL7)
        {
            w.WritePropertyName("Permissions");
            JsonSerializer.Serialize(w, rule.Permissions, ConfigEntryJson.Options);
        }
        JsonOut.StringMap(w, "Meta", rule.Meta);
        w.WriteNumber("Precedence", rule.Precedence);
        if (rule.CreatedAt is { } created) w.WriteString("CreatedAt", created.ToUniversalTime());
        if (rule.UpdatedAt is { } updated) w.WriteString("UpdatedAt", updated.ToUniversalTime());
        w.WriteNumber("CreateIndex", rule.CreateIndex);
        w.WriteNumber("ModifyIndex", rule.ModifyIndex);
        w.WriteEndObject();
    }
}
