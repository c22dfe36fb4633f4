using System.Globalization;
using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Intention;

/// <summary>One intention as the API returns it (Consul's <c>api.Intention</c>, the fields the commands show).</summary>
internal sealed record IntentionView(
    string Id, string SourceNS, string SourceName, string DestinationNS, string DestinationName, string Action,
    JsonElement? Permissions, string Description, IReadOnlyDictionary<string, string> Meta, int Precedence, DateTime CreatedAt)
{
    /// <summary>How many L7 permissions it has.</summary>
    public int PermissionCount => Permissions is { ValueKind: JsonValueKind.Array } p ? p.GetArrayLength() : 0;

    /// <summary>The source as Consul's <c>SourceString</c> shows it: the default namespace left out.</summary>
    public string SourceString => IntentionApi.Part(SourceNS, SourceName);

    /// <summary>The destination, likewise.</summary>
    public string DestinationString => IntentionApi.Part(DestinationNS, DestinationName);

    /// <summary>Consul's <c>api.Intention.String</c>: <c>web => db (allow)</c>, or the number of permissions for an L7 one.</summary>
    public override string ToString() => $"{SourceString} => {DestinationString} ({PermissionCount switch
    {
        0 => Action,
        1 => "1 permission",
        var n => $"{n} permissions",
    }})";

    /// <summary>Reads one intention object.</summary>
    public static IntentionView Read(JsonElement e)
    {
        string S(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        var meta = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (e.TryGetProperty("Meta", out var m) && m.ValueKind == JsonValueKind.Object)
            foreach (var p in m.EnumerateObject()) meta[p.Name] = p.Value.GetString() ?? "";
        var created = e.TryGetProperty("CreatedAt", out var c) && c.ValueKind == JsonValueKind.String && c.TryGetDateTime(out var at)
            ? at.ToUniversalTime()
            : DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc);
        return new IntentionView(S("ID"), S("SourceNS"), S("SourceName"), S("DestinationNS"), S("DestinationName"), S("Action"),
            e.TryGetProperty("Permissions", out var perms) && perms.ValueKind == JsonValueKind.Array ? perms.Clone() : null,
            S("Description"), meta, e.TryGetProperty("Precedence", out var pr) && pr.TryGetInt32(out var n) ? n : 0, created);
    }
}

/// <summary>What the intention commands share: lookups with Consul's error wording and the names' forms.</summary>
internal static class IntentionApi
{
    /// <summary><c>namespace/name</c>, or just the name in the default namespace (Consul's <c>partString</c>).</summary>
    public static string Part(string ns, string name) => ns.Length > 0 && ns != "default" ? ns + "/" + name : name;

    /// <summary>
    /// Splits <c>name</c>, <c>namespace/name</c> or <c>partition/namespace/name</c> (Consul's
    /// <c>ParseIntentionTarget</c>).
    /// </summary>
    /// <exception cref="FormatException">More than two slashes.</exception>
    public static (string Name, string Namespace, string Partition) ParseTarget(string input)
    {
        var parts = input.Split('/');
        return parts.Length switch
        {
            1 => (parts[0], "", ""),
            2 => (parts[1], parts[0], ""),
            3 => (parts[2], parts[1], parts[0]),
            _ => throw new FormatException("input can contain at most two '/'"),
        };
    }

    /// <summary>
    /// <c>GET /v1/connect/intentions/exact</c>: the intention, or null when there is none. Other failures read as
    /// Consul's client words them (<c>Unexpected response 400: ...</c>).
    /// </summary>
    /// <exception cref="Http.ApiException">The agent could not be reached or refused the lookup.</exception>
    public static async Task<IntentionView?> GetExactAsync(ApiClient client, string source, string destination, bool stale, CancellationToken ct)
    {
        var result = await client.SendAsync(HttpMethod.Get, "/v1/connect/intentions/exact",
            [new("source", source), new("destination", destination)], new QueryOptions { AllowStale = stale }, null, ct);
        return ReadOne(result);
    }

    /// <summary><c>GET /v1/connect/intentions/&lt;id&gt;</c>: the intention, or null when there is none.</summary>
    /// <exception cref="Http.ApiException">The agent could not be reached or refused the lookup.</exception>
    public static async Task<IntentionView?> GetByIdAsync(ApiClient client, string id, bool stale, CancellationToken ct)
    {
        var result = await client.SendAsync(HttpMethod.Get, "/v1/connect/intentions/" + Uri.EscapeDataString(id), null,
            new QueryOptions { AllowStale = stale }, null, ct);
        return ReadOne(result);
    }

    private static IntentionView? ReadOne(ApiResult result)
    {
        if (result.Status == 404) return null;
        if (result.Status != 200) throw Http.ApiException.FromDecode($"Unexpected response {result.Status.ToString(CultureInfo.InvariantCulture)}: {result.BodyText}", null);
        try
        {
            using var doc = JsonDocument.Parse(result.Body);
            return IntentionView.Read(doc.RootElement);
        }
        catch (JsonException e)
        {
            throw Http.ApiException.FromDecode(e.Message, e);
        }
    }

    /// <summary>Reads a list of intentions.</summary>
    /// <exception cref="Http.ApiException">The body is not a list of intentions.</exception>
    public static List<IntentionView> ReadList(JsonElement list) => list.ValueKind == JsonValueKind.Array
        ? list.EnumerateArray().Select(IntentionView.Read).ToList()
        : throw Http.ApiException.FromDecode("expected a list of intentions", null);

    /// <summary>An intention as the write endpoints take it.</summary>
    public static byte[] Body(string sourceNs, string source, string destinationNs, string destination, string action, string description,
        IReadOnlyDictionary<string, string> meta)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (description.Length > 0) w.WriteString("Description", description);
            w.WriteString("SourceNS", sourceNs);
            w.WriteString("SourceName", source);
            w.WriteString("DestinationNS", destinationNs);
            w.WriteString("DestinationName", destination);
            w.WriteString("SourceType", "consul");
            w.WriteString("Action", action);
            if (meta.Count > 0)
            {
                w.WriteStartObject("Meta");
                foreach (var (k, v) in meta) w.WriteString(k, v);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}
