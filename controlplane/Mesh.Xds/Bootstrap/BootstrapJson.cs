using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Xds.Bootstrap;

/// <summary>
/// Protobuf JSON for bootstraps: one type registry that knows every message compiled into Mesh.Xds (so any
/// <c>typed_config</c> a user writes in an <c>envoy_*_json</c> setting, and every one Mesh writes, resolves), a strict
/// parser (unknown fields are errors, so a typo is reported rather than silently dropped) and a formatter that writes
/// proto field names (<c>static_resources</c>, as Envoy's docs and Consul's bootstrap spell them).
/// </summary>
internal static class BootstrapJson
{
    private static readonly Lazy<TypeRegistry> LazyRegistry = new(BuildRegistry);
    private static readonly Lazy<JsonParser> LazyParser = new(() => new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(LazyRegistry.Value)));
    private static readonly Lazy<JsonFormatter> LazyFormatter = new(() =>
        new JsonFormatter(new JsonFormatter.Settings(formatDefaultValues: false, LazyRegistry.Value).WithPreserveProtoFieldNames(true)));

    private static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        // Regexes and PEM text stay readable: no \u002B for '+' or \u0027 for quotes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    // Consul's bootstrap template lays the top level out in this order; JSON objects are unordered, but people diff
    // bootstraps, so Mesh's reads the same way.
    private static readonly string[] TopLevelOrder =
    [
        "admin", "node", "layered_runtime", "static_resources", "stats_sinks", "stats_config", "stats_flush_interval",
        "tracing", "dynamic_resources",
    ];

    private static readonly string[] StaticResourcesOrder = ["clusters", "listeners", "secrets"];

    /// <summary>Every message type compiled into Mesh.Xds plus the well-known types.</summary>
    public static TypeRegistry Registry => LazyRegistry.Value;

    /// <summary>The strict parser.</summary>
    public static JsonParser Parser => LazyParser.Value;

    /// <summary>The bootstrap as indented JSON with Consul's top-level key order and a trailing newline.</summary>
    public static string Format(IMessage bootstrap)
    {
        var compact = LazyFormatter.Value.Format(bootstrap);
        using var doc = JsonDocument.Parse(compact);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            WriteOrdered(w, doc.RootElement, TopLevelOrder, (name, value) =>
            {
                if (name == "static_resources") WriteOrdered(w, value, StaticResourcesOrder, null);
                else value.WriteTo(w);
            });
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Parses one message from a setting's JSON text.</summary>
    /// <exception cref="BootstrapException">The text is not JSON, or not a valid <typeparamref name="T"/>.</exception>
    public static T ParseOne<T>(string setting, string json) where T : IMessage<T>, new()
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new BootstrapException(setting, $"expected a JSON object ({Describe<T>()})");
            return ParseElement<T>(setting, doc.RootElement);
        }
        catch (JsonException e)
        {
            throw new BootstrapException(setting, $"invalid JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Parses a list setting: one object, several objects separated by commas (Consul's form, made to be spliced into
    /// a JSON array), or a JSON array.
    /// </summary>
    /// <exception cref="BootstrapException">The text is not JSON, or an element is not a valid <typeparamref name="T"/>.</exception>
    public static List<T> ParseList<T>(string setting, string json) where T : IMessage<T>, new()
    {
        var text = json.TrimStart().StartsWith('[') ? json : "[" + json + "]";
        try
        {
            using var doc = JsonDocument.Parse(text);
            var list = new List<T>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object)
                    throw new BootstrapException(setting, $"expected JSON objects ({Describe<T>()}), found {e.ValueKind.ToString().ToLowerInvariant()}");
                list.Add(ParseElement<T>(setting, e));
            }
            return list;
        }
        catch (JsonException e)
        {
            throw new BootstrapException(setting, $"invalid JSON: {e.Message}", e);
        }
    }

    private static T ParseElement<T>(string setting, JsonElement e) where T : IMessage<T>, new()
    {
        try
        {
            return Parser.Parse<T>(e.GetRawText());
        }
        // The parser reports a bad field as InvalidProtocolBufferException, bad JSON as InvalidJsonException, a bad
        // number as FormatException and an @type the registry lacks as InvalidOperationException.
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException or InvalidOperationException)
        {
            throw new BootstrapException(setting, $"not a valid {Describe<T>()}: {ex.Message}", ex);
        }
    }

    private static string Describe<T>() where T : IMessage<T>, new() => new T().Descriptor.FullName;

    private static void WriteOrdered(Utf8JsonWriter w, JsonElement obj, string[] order, Action<string, JsonElement>? writeValue)
    {
        w.WriteStartObject();
        foreach (var name in order)
        {
            if (!obj.TryGetProperty(name, out var value)) continue;
            w.WritePropertyName(name);
            if (writeValue is null) value.WriteTo(w);
            else writeValue(name, value);
        }
        foreach (var p in obj.EnumerateObject())
        {
            if (Array.IndexOf(order, p.Name) >= 0) continue;
            p.WriteTo(w);
        }
        w.WriteEndObject();
    }

    // Every *Reflection class protoc generated into this assembly holds one file's descriptor; registering them all
    // means a proto added to collect.mjs later is covered without touching this list.
    private static TypeRegistry BuildRegistry()
    {
        var files = new List<FileDescriptor>
        {
            StructReflection.Descriptor, WrappersReflection.Descriptor, DurationReflection.Descriptor,
            EmptyReflection.Descriptor, AnyReflection.Descriptor, TimestampReflection.Descriptor,
        };
        foreach (var type in typeof(BootstrapJson).Assembly.GetTypes())
        {
            if (!type.IsAbstract || !type.IsSealed || !type.Name.EndsWith("Reflection", StringComparison.Ordinal)) continue;
            if (type.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) is FileDescriptor file)
                files.Add(file);
        }
        return TypeRegistry.FromFiles(files.ToArray());
    }
}
