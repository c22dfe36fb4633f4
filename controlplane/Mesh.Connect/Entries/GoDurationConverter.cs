using System.Text.Json;
using System.Text.Json.Serialization;
using Mesh.State.Text;

namespace Mesh.Connect.Entries;

/// <summary>Durations in entries as Go writes them (<c>"15s"</c>); a bare number is nanoseconds, as Go's JSON has it.</summary>
public sealed class GoDurationConverter : JsonConverter<TimeSpan>
{
    /// <inheritdoc/>
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var ns)) return TimeSpan.FromTicks(ns / 100);
        if (reader.TokenType == JsonTokenType.String && GoDuration.TryParse(reader.GetString(), out var d)) return d;
        throw new JsonException("must be a duration such as \"15s\"");
    }

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
        writer.WriteStringValue(GoDuration.Format(value));
}
