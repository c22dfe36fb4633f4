using System.Text.Encodings.Web;
using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Config;

/// <summary>What the config commands share: the boolean answers of writes and deletes, and Consul's indented output.</summary>
internal static class ConfigJson
{
    /// <summary>Four-space indentation, as Consul's <c>json.MarshalIndent(entry, "", "    ")</c> prints entries.</summary>
    public static readonly JsonWriterOptions Indented = new() { Indented = true, IndentSize = 4, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The <c>true</c>/<c>false</c> a check-and-set answers.</summary>
    /// <exception cref="Http.ApiException">The body is not a JSON boolean.</exception>
    public static bool ReadBool(ApiResult result)
    {
        var text = result.BodyText.Trim();
        return text switch
        {
            "true" => true,
            "false" => false,
            _ => throw Http.ApiException.FromDecode($"expected true or false, got {text}", null),
        };
    }

    /// <summary>Re-indents a JSON body for a person to read.</summary>
    public static string Indent(byte[] body)
    {
        using var doc = JsonDocument.Parse(body);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Indented)) doc.RootElement.WriteTo(w);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>A path segment escaped as Go's client escapes it.</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);

    /// <summary>Consul's check for the commands that address one entry: both <c>-kind</c> and <c>-name</c> are required.</summary>
    /// <returns>Whether both were given; when not, the message is written to <paramref name="err"/>.</returns>
    public static bool RequireKindAndName(TextWriter err, string kind, string name)
    {
        if (kind.Length == 0) err.WriteLine("Must specify the -kind parameter");
        else if (name.Length == 0) err.WriteLine("Must specify the -name parameter");
        return kind.Length > 0 && name.Length > 0;
    }

    /// <summary>The <c>?cas=</c> parameter of a check-and-set write or delete, or none.</summary>
    public static KeyValuePair<string, string?>[]? Cas(bool cas, ulong modifyIndex) =>
        cas ? [new KeyValuePair<string, string?>("cas", modifyIndex.ToString(System.Globalization.CultureInfo.InvariantCulture))] : null;
}
