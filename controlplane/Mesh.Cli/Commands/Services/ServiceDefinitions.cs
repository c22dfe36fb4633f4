using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Cli.Commands.Services;

/// <summary>
/// Service definitions from agent-style JSON config files (<c>{"service": {...}}</c> or <c>{"services": [...]}</c>),
/// rewritten into the PascalCase body of <c>PUT /v1/agent/service/register</c>. Keys are translated recursively
/// (<c>enable_tag_override</c> → <c>EnableTagOverride</c>, <c>sidecar_service</c> → <c>SidecarService</c>), except the
/// user-chosen keys of maps such as <c>meta</c> and proxy <c>config</c>, which must reach the agent unchanged.
/// </summary>
internal static class ServiceDefinitions
{
    // Maps whose keys are the user's own names: copied verbatim, values included.
    private static readonly HashSet<string> OpaqueMaps = new(StringComparer.Ordinal) { "Meta", "NodeMeta", "Config", "Header", "Env" };

    // Word forms that Consul's Go field names spell in capitals.
    private static readonly Dictionary<string, string> Acronyms = new(StringComparer.Ordinal)
    {
        ["id"] = "ID", ["http"] = "HTTP", ["https"] = "HTTPS", ["tcp"] = "TCP", ["udp"] = "UDP", ["grpc"] = "GRPC",
        ["tls"] = "TLS", ["ttl"] = "TTL", ["os"] = "OS", ["dns"] = "DNS", ["sni"] = "SNI", ["ip"] = "IP", ["url"] = "URL",
    };

    // Whole keys whose API name is not a mechanical translation.
    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["args"] = "ScriptArgs", ["script_args"] = "ScriptArgs", ["h2ping"] = "H2PING", ["h2ping_use_tls"] = "H2PingUseTLS",
    };

    /// <summary>
    /// Reads every file in order and returns its service definitions in API form.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is unreadable, not JSON, or holds no service definition; the
    /// message names the file.</exception>
    public static List<JsonObject> Load(IEnumerable<string> files)
    {
        var result = new List<JsonObject>();
        foreach (var file in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(file, Encoding.UTF8);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidDataException($"Error reading \"{file}\": {e.Message}", e);
            }
            JsonNode? root;
            try
            {
                root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"Error parsing {file}: {e.Message}", e);
            }
            if (root is not JsonObject top) throw new InvalidDataException($"Error parsing {file}: top level must be a JSON object");

            var found = 0;
            foreach (var (key, value) in top)
            {
                if (key is not ("service" or "Service" or "services" or "Services")) continue;
                // Consul's config accepts a single object or a list under either name.
                IEnumerable<JsonNode?> items = value is JsonArray array ? array : new[] { value };
                foreach (var item in items)
                {
                    if (item is not JsonObject definition)
                        throw new InvalidDataException($"Error parsing {file}: '{key}' must hold service definition objects");
                    result.Add((JsonObject)Translate(definition, checkContext: false)!);
                    found++;
                }
            }
            if (found == 0) throw new InvalidDataException($"Error parsing {file}: no \"service\" or \"services\" definition");
        }
        return result;
    }

    /// <summary>The API name of a config key: <c>snake_case</c> to PascalCase; PascalCase stays as it is.</summary>
    internal static string ApiName(string key, bool checkContext)
    {
        // Inside a check, "id" is the check's ID field.
        if (checkContext && key is "id" or "check_id") return "CheckID";
        if (Renamed.TryGetValue(key, out var renamed)) return renamed;
        var sb = new StringBuilder(key.Length);
        foreach (var word in key.Split('_', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Acronyms.TryGetValue(word, out var upper)) sb.Append(upper);
            else sb.Append(char.ToUpperInvariant(word[0])).Append(word.AsSpan(1));
        }
        return sb.ToString();
    }

    private static JsonNode? Translate(JsonNode? node, bool checkContext)
    {
        switch (node)
        {
            case JsonObject obj:
            {
                var copy = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    var name = ApiName(key, checkContext);
                    copy[name] = name switch
                    {
                        _ when OpaqueMaps.Contains(name) => value?.DeepClone(),
                        // The keys of tagged addresses are names ("lan", "wan"); their values are address objects.
                        "TaggedAddresses" when value is JsonObject tagged => TranslateValues(tagged),
                        "Check" => Translate(value, checkContext: true),
                        "Checks" => Translate(value, checkContext: true),
                        _ => Translate(value, checkContext: false),
                    };
                }
                return copy;
            }
            case JsonArray array:
                return new JsonArray(array.Select(item => Translate(item, checkContext)).ToArray());
            default:
                return node?.DeepClone();
        }
    }

    private static JsonObject TranslateValues(JsonObject map)
    {
        var copy = new JsonObject();
        foreach (var (key, value) in map) copy[key] = Translate(value, checkContext: false);
        return copy;
    }

    /// <summary>The service ID as the agent will see it: <c>ID</c>, or <c>Name</c> when there is no ID.</summary>
    public static string IdOf(JsonObject definition)
    {
        var id = StringOf(definition, "ID");
        return id.Length > 0 ? id : StringOf(definition, "Name");
    }

    /// <summary>A string member, "" when absent or not a string.</summary>
    public static string StringOf(JsonObject definition, string name) =>
        definition[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
}
