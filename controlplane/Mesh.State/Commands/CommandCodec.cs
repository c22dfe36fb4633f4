using System.Text.Json;

namespace Mesh.State.Commands;

/// <summary>Encodes commands for the log. JSON keeps entries readable in a log dump and stable across versions.</summary>
public static class CommandCodec
{
    private static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Encodes a command.</summary>
    public static byte[] Encode(Command command) => JsonSerializer.SerializeToUtf8Bytes(command, Options);

    /// <summary>Decodes a command.</summary>
    /// <exception cref="JsonException">The bytes are not a command.</exception>
    public static Command Decode(ReadOnlySpan<byte> data) =>
        JsonSerializer.Deserialize<Command>(data, Options) ?? throw new JsonException("empty command");
}
