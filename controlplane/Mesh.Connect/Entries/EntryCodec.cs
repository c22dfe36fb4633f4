using System.Text.Json;

namespace Mesh.Connect.Entries;

/// <summary>A config entry body that cannot be read; the message says which field and why.</summary>
public sealed class ConfigEntryException(string message) : Exception(message);

/// <summary>Reads entries from the API's or a config file's JSON and writes them in the API's shape.</summary>
public static class EntryCodec
{
    /// <summary>Reads one entry.</summary>
    /// <exception cref="ConfigEntryException">Not an object, no or unknown Kind, an unknown field, or a value of the wrong type.</exception>
    public static ConfigEntry Read(JsonElement json)
    {
        string normalized;
        try
        {
            normalized = ConfigEntryJson.Normalize(json);
        }
        catch (JsonException ex)
        {
            throw new ConfigEntryException(ex.Message);
        }
        using (var doc = JsonDocument.Parse(normalized))
        {
            if (!doc.RootElement.TryGetProperty("Kind", out var kind) || kind.ValueKind != JsonValueKind.String)
                throw new ConfigEntryException("Kind is required");
            if (!EntryKinds.All.Contains(kind.GetString()!))
                throw new ConfigEntryException($"invalid config entry kind: {kind.GetString()}");
        }
        try
        {
            return JsonSerializer.Deserialize<ConfigEntry>(normalized, ConfigEntryJson.Options) ?? throw new ConfigEntryException("empty config entry");
        }
        catch (JsonException ex)
        {
            // System.Text.Json names the path ($.Splits[0].Weight); its position details mean nothing to the writer.
            var path = ex.Path is { Length: > 2 } p ? p[2..] : "";
            throw new ConfigEntryException(path.Length > 0 ? $"{path}: {FirstSentence(ex.Message)}" : FirstSentence(ex.Message));
        }
    }

    /// <summary>Writes an entry (with its indexes) in the API's shape.</summary>
    public static void Write(Utf8JsonWriter w, ConfigEntry entry, ulong createIndex, ulong modifyIndex)
    {
        using var doc = JsonSerializer.SerializeToDocument<ConfigEntry>(entry, ConfigEntryJson.Options);
        w.WriteStartObject();
        w.WriteString("Kind", entry.Kind);
        foreach (var p in doc.RootElement.EnumerateObject())
            if (!p.NameEquals("Kind")) p.WriteTo(w);
        w.WriteNumber("CreateIndex", createIndex);
        w.WriteNumber("ModifyIndex", modifyIndex);
        w.WriteEndObject();
    }

    /// <summary>
    /// Writes an entry the store kept (its canonical JSON, <see cref="ToJson"/>) in the API's shape with its indexes,
    /// without parsing it into a typed entry first: lists and blocking reads answer many of these.
    /// </summary>
    public static void WriteStored(Utf8JsonWriter w, string json, ulong createIndex, ulong modifyIndex)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(json);
        using var doc = JsonDocument.Parse(json);
        w.WriteStartObject();
        if (doc.RootElement.TryGetProperty("Kind", out var kind)) w.WriteString("Kind", kind.GetString());
        foreach (var p in doc.RootElement.EnumerateObject())
            if (!p.NameEquals("Kind")) p.WriteTo(w);
        w.WriteNumber("CreateIndex", createIndex);
        w.WriteNumber("ModifyIndex", modifyIndex);
        w.WriteEndObject();
    }

    /// <summary>
    /// The entry as a filter (<c>?filter=</c>) sees it: every field, empty ones included, so a filter that names a
    /// field the entry leaves empty compares its empty value rather than failing on a missing field.
    /// </summary>
    public static JsonDocument ToFilterable(ConfigEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return JsonSerializer.SerializeToDocument<ConfigEntry>(entry, ConfigEntryJson.Complete);
    }

    /// <summary>An entry as canonical JSON (what the store keeps).</summary>
    public static string ToJson(ConfigEntry entry) => JsonSerializer.Serialize<ConfigEntry>(entry, ConfigEntryJson.Options);

    /// <summary>Reads an entry the store kept.</summary>
    public static ConfigEntry FromStored(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Read(doc.RootElement);
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
