using System.Text.Json;

namespace Mesh.Agent.Http;

/// <summary>
/// Reads request bodies the way Consul (Go's encoding/json) does: field names match case-insensitively, unknown
/// fields are ignored, and a wrong type is a 400 that names the field.
/// </summary>
internal static class JsonIn
{
    /// <summary>Parses a body; a syntax error is a 400 that starts with <paramref name="failure"/>.</summary>
    public static JsonDocument Parse(byte[] body, string failure = "Request decode failed")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest($"{failure}: {ex.Message}");
        }

        try
        {
            ThrowIfUndecodable(doc.RootElement);
        }
        catch (InvalidOperationException)
        {
            doc.Dispose();
            throw ApiException.BadRequest($"{failure}: a string holds an invalid UTF-16 escape (lone surrogate)");
        }

        return doc;
    }

    // System.Text.Json accepts an escaped lone surrogate ("\ud800") while parsing but throws InvalidOperationException
    // when the string or property name is read, which would surface as a 500. Read every one up front so a client's
    // bad escape is a 400. (Go's decoder substitutes U+FFFD instead; either way it is not a server fault.)
    private static void ThrowIfUndecodable(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    ThrowIfUndecodable(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    ThrowIfUndecodable(item);
                }

                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }

    /// <summary>
    /// Finds a field by name ignoring case and underscores, so Consul's PascalCase and the snake_case its agent
    /// accepts (<c>EnableTagOverride</c>, <c>enable_tag_override</c>) both match. A null value counts as absent.
    /// </summary>
    public static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in obj.EnumerateObject())
            {
                if (SameName(p.Name, name) && p.Value.ValueKind != JsonValueKind.Null)
                {
                    value = p.Value;
                    return true;
                }
            }
        }
        value = default;
        return false;
    }

    /// <summary>Consul's field matching: letter case and underscores do not count.</summary>
    internal static bool SameName(string a, string b)
    {
        int i = 0, j = 0;
        while (true)
        {
            while (i < a.Length && a[i] == '_') i++;
            while (j < b.Length && b[j] == '_') j++;
            if (i == a.Length || j == b.Length) return i == a.Length && j == b.Length;
            if (char.ToLowerInvariant(a[i]) != char.ToLowerInvariant(b[j])) return false;
            i++;
            j++;
        }
    }

    public static string? String(JsonElement obj, string name) => !TryGet(obj, name, out var v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString() : throw ApiException.BadRequest($"Request decode failed: {name} must be a string");

    public static ulong UInt64(JsonElement obj, string name) => !TryGet(obj, name, out var v) ? 0
        : v.ValueKind == JsonValueKind.Number && v.TryGetUInt64(out var n) ? n
        : throw ApiException.BadRequest($"Request decode failed: {name} must be an unsigned integer");

    public static byte[]? Base64(JsonElement obj, string name)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw ApiException.BadRequest($"Request decode failed: {name} must be a base64 string");
        try
        {
            return Convert.FromBase64String(v.GetString()!);
        }
        catch (FormatException)
        {
            throw ApiException.BadRequest($"Request decode failed: {name} is not valid base64");
        }
    }

    public static IReadOnlyList<string> Strings(JsonElement obj, string name)
    {
        if (!TryGet(obj, name, out var v)) return [];
        if (v.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"Request decode failed: {name} must be an array of strings");
        return v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()!
            : throw ApiException.BadRequest($"Request decode failed: {name} must be an array of strings")).ToList();
    }
}
