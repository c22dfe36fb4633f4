using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Mesh.Connect.Entries;

/// <summary>The kinds of config entry, as spelled on the wire.</summary>
public static class EntryKinds
{
    public const string ServiceDefaults = "service-defaults", ProxyDefaults = "proxy-defaults", ServiceResolver = "service-resolver",
        ServiceSplitter = "service-splitter", ServiceRouter = "service-router", ServiceIntentions = "service-intentions";

    /// <summary>Every kind this version stores.</summary>
    public static readonly IReadOnlyList<string> All = [ServiceDefaults, ProxyDefaults, ServiceResolver, ServiceSplitter, ServiceRouter, ServiceIntentions];
}

/// <summary>
/// A config entry: a kind, a name and a body. Bodies are read from Consul's JSON (PascalCase, or the snake_case config
/// files use; see <see cref="ConfigEntryJson"/>) and written back in the API's PascalCase.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "Kind", IgnoreUnrecognizedTypeDiscriminators = false)]
[JsonDerivedType(typeof(ServiceDefaultsEntry), EntryKinds.ServiceDefaults)]
[JsonDerivedType(typeof(ProxyDefaultsEntry), EntryKinds.ProxyDefaults)]
[JsonDerivedType(typeof(ServiceResolverEntry), EntryKinds.ServiceResolver)]
[JsonDerivedType(typeof(ServiceSplitterEntry), EntryKinds.ServiceSplitter)]
[JsonDerivedType(typeof(ServiceRouterEntry), EntryKinds.ServiceRouter)]
[JsonDerivedType(typeof(ServiceIntentionsEntry), EntryKinds.ServiceIntentions)]
public abstract record ConfigEntry
{
    /// <summary>The entry's kind (written as the type discriminator, so not a serialized property).</summary>
    [JsonIgnore]
    public string Kind => this switch
    {
        ServiceDefaultsEntry => EntryKinds.ServiceDefaults,
        ProxyDefaultsEntry => EntryKinds.ProxyDefaults,
        ServiceResolverEntry => EntryKinds.ServiceResolver,
        ServiceSplitterEntry => EntryKinds.ServiceSplitter,
        ServiceRouterEntry => EntryKinds.ServiceRouter,
        ServiceIntentionsEntry => EntryKinds.ServiceIntentions,
        _ => throw new InvalidOperationException($"unknown entry type {GetType().Name}"),
    };

    // Consul writes Kind and Name first and the metadata and tenancy after the body; the orders below do the same.

    /// <summary>The service it configures (<c>global</c> for proxy-defaults).</summary>
    [JsonPropertyOrder(-1)]
    public string Name { get; init; } = "";

    /// <summary>The namespace (only <c>default</c> exists).</summary>
    [JsonPropertyOrder(2)]
    public string? Namespace { get; init; }

    /// <summary>The partition (only <c>default</c> exists).</summary>
    [JsonPropertyOrder(3)]
    public string? Partition { get; init; }

    /// <summary>Free-form metadata.</summary>
    [JsonPropertyOrder(1)]
    public Dictionary<string, string>? Meta { get; init; }
}

/// <summary>Mesh gateway mode (<c>none</c>, <c>local</c>, <c>remote</c>, or empty for the default).</summary>
public sealed record MeshGatewayConfig
{
    public string Mode { get; init; } = "";
}

/// <summary>Paths exposed through the proxy without mTLS (health checks of the local app).</summary>
public sealed record ExposeConfig
{
    public bool Checks { get; init; }
    public List<ExposePath>? Paths { get; init; }
}

/// <summary>One exposed path.</summary>
public sealed record ExposePath
{
    public int ListenerPort { get; init; }
    public string Path { get; init; } = "";
    public int LocalPathPort { get; init; }
    public string Protocol { get; init; } = "";
}

/// <summary>Header changes applied to requests or responses.</summary>
public sealed record HeaderModifiers
{
    public Dictionary<string, string>? Add { get; init; }
    public Dictionary<string, string>? Set { get; init; }
    public List<string>? Remove { get; init; }
}

/// <summary>A match on an HTTP header, as routers and intentions write it: one of the match kinds, or <c>Present</c>.</summary>
public sealed record HeaderMatch
{
    public string Name { get; init; } = "";
    public bool Present { get; init; }
    public string Exact { get; init; } = "";
    public string Prefix { get; init; } = "";
    public string Suffix { get; init; } = "";
    public string Regex { get; init; } = "";
    public bool Invert { get; init; }
}

/// <summary>Shared JSON settings for entries.</summary>
public static class ConfigEntryJson
{
    /// <summary>
    /// Options for reading and writing entries: names match regardless of case (after <see cref="Normalize"/> took out
    /// underscores), unknown fields are an error (as in Consul, so a typo is never silently ignored), and empty values
    /// are left out of output.
    /// </summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // Empty fields are left out by OmitEmpty below, which knows the ones Consul always writes.
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        AllowOutOfOrderMetadataProperties = true,
        Converters = { new GoDurationConverter(), new GoStringConverter() },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { OmitEmpty } },
    };

    /// <summary>As <see cref="Options"/>, but writing empty fields too (what filters evaluate).</summary>
    public static readonly JsonSerializerOptions Complete = new(Options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    // Fields Consul writes even when empty (no omitempty in its structs); every other empty field is left out, as
    // Consul's omitempty leaves it out, so "RequestTimeout": "0s" and "OnlyPassing": false never appear.
    private static readonly HashSet<(Type, string)> AlwaysWritten =
    [
        (typeof(ServiceDefaultsEntry), "Protocol"), (typeof(SplitterSplit), "Weight"), (typeof(IntentionSource), "Precedence"),
        (typeof(IntentionSource), "Type"), (typeof(IntentionPermission), "Action"),
    ];

    /// <summary>Leaves out empty strings, zeros, false, zero durations and empty lists and maps, except <c>Name</c> and <see cref="AlwaysWritten"/>.</summary>
    private static void OmitEmpty(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object) return;
        foreach (var p in info.Properties)
        {
            if (p.Name == "Name" || AlwaysWritten.Contains((info.Type, p.Name))) continue;
            var t = p.PropertyType;
            if (t == typeof(string)) p.ShouldSerialize = static (_, v) => !string.IsNullOrEmpty((string?)v);
            else if (t == typeof(int)) p.ShouldSerialize = static (_, v) => (int)v! != 0;
            else if (t == typeof(double)) p.ShouldSerialize = static (_, v) => (double)v! != 0;
            else if (t == typeof(bool)) p.ShouldSerialize = static (_, v) => (bool)v!;
            else if (t == typeof(TimeSpan)) p.ShouldSerialize = static (_, v) => (TimeSpan)v! != TimeSpan.Zero;
            else if (typeof(System.Collections.ICollection).IsAssignableFrom(t)) p.ShouldSerialize = static (_, v) => v is System.Collections.ICollection { Count: > 0 };
        }
    }

    // Fields whose keys are data (header names, metadata, proxy config keys), never field names to translate.
    private static readonly HashSet<string> RawMaps = new(StringComparer.OrdinalIgnoreCase) { "Meta", "Config", "Add", "Set", "LegacyMeta" };

    // Fields whose keys are names (subsets, failover targets) but whose values are entries' own objects.
    private static readonly HashSet<string> NamedMaps = new(StringComparer.OrdinalIgnoreCase) { "Subsets", "Failover" };

    /// <summary>
    /// Turns snake_case field names (<c>connect_timeout</c>) into names that match the PascalCase properties
    /// regardless of case (<c>connecttimeout</c>), leaving the keys of free-form maps alone.
    /// </summary>
    public static string Normalize(JsonElement element)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            if (element.ValueKind != JsonValueKind.Object) throw new JsonException("a config entry must be a JSON object");
            w.WriteStartObject();
            // Kind first, in the spelling the type discriminator needs; the indexes of a read entry are not part of it.
            foreach (var p in element.EnumerateObject())
                if (p.NameEquals("Kind") || string.Equals(p.Name, "kind", StringComparison.OrdinalIgnoreCase))
                {
                    w.WritePropertyName("Kind");
                    p.Value.WriteTo(w);
                }
            foreach (var p in element.EnumerateObject())
            {
                if (p.Name.Equals("kind", StringComparison.OrdinalIgnoreCase)) continue;
                var name = p.Name.Replace("_", "", StringComparison.Ordinal);
                if (name.Equals("CreateIndex", StringComparison.OrdinalIgnoreCase) || name.Equals("ModifyIndex", StringComparison.OrdinalIgnoreCase)) continue;
                WriteProperty(w, name, p.Value);
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteProperty(Utf8JsonWriter w, string name, JsonElement value)
    {
        w.WritePropertyName(name);
        if (RawMaps.Contains(name)) value.WriteTo(w);
        else if (NamedMaps.Contains(name) && value.ValueKind == JsonValueKind.Object)
        {
            w.WriteStartObject();
            foreach (var named in value.EnumerateObject())
            {
                // A subset or failover named but not defined is a mistake, not an empty definition.
                if (named.Value.ValueKind == JsonValueKind.Null) throw new JsonException($"{name}[\"{named.Name}\"] must be an object, not null");
                w.WritePropertyName(named.Name);
                Write(w, named.Value, name);
            }
            w.WriteEndObject();
        }
        else Write(w, value, name);
    }

    private static void Write(Utf8JsonWriter w, JsonElement e, string field)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                foreach (var p in e.EnumerateObject()) WriteProperty(w, p.Name.Replace("_", "", StringComparison.Ordinal), p.Value);
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var item in e.EnumerateArray())
                {
                    // Every list in an entry holds values (splits, routes, sources, methods...); a null one would
                    // reach the model as a null element.
                    if (item.ValueKind == JsonValueKind.Null) throw new JsonException($"{field} must not hold null");
                    Write(w, item, field);
                }
                w.WriteEndArray();
                break;
            default:
                e.WriteTo(w);
                break;
        }
    }
}
