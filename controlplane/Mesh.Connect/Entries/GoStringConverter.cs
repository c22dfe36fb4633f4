using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Connect.Entries;

/// <summary>
/// Strings as Go's decoder reads them: a JSON <c>null</c> leaves the field empty (<c>""</c>) instead of putting a null
/// where the model promises a string, so <c>"Service": null</c> means what it means to Consul. Anything but a string
/// or null is an error naming the field.
/// </summary>
public sealed class GoStringConverter : JsonConverter<string>
{
    /// <inheritdoc/>
    public override bool HandleNull => true;

    /// <inheritdoc/>
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Null => "",
        JsonTokenType.String => reader.GetString()!,
        _ => throw new JsonException("must be a string"),
    };

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

    /// <inheritdoc/>
    public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString()!;

    /// <inheritdoc/>
    public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);
}
