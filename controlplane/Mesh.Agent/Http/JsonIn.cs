using System.Text.Json;

namespace Mesh.Agent.Http;

/// <summary>
/// Reads request bodies the way Consul (Go's encoding/json) does: field names match case-insensitively, unknown
/// fields are ignored, and a wrong type is a 400 that names the field.
/// </summary>
internal static class JsonIn
{
    public static JsonDocument Parse(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            throw ApiException.BadRequest($"Request decode failed: {ex.Message}");
        }
    }

    public static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in obj.EnumerateObject())
            {
                if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind != JsonValueKind.Null)
                {
                    value = p.Value;
                    return true;
                }
            }
        }
        value = default;
        return false;
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
