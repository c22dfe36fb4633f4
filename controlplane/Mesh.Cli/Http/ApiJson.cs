using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Cli.Http;

/// <summary>
/// Source-generated JSON metadata for everything the CLI reads or writes, so start-up pays no reflection cost.
/// </summary>
[JsonSerializable(typeof(KvPair))]
[JsonSerializable(typeof(List<KvPair>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(List<ExportEntry>))]
[JsonSerializable(typeof(SessionCreateRequest))]
[JsonSerializable(typeof(SessionIdResponse))]
[JsonSerializable(typeof(List<SessionEntry>))]
[JsonSerializable(typeof(UserEvent))]
[JsonSerializable(typeof(List<UserEvent>))]
[JsonSerializable(typeof(List<AgentMember>))]
[JsonSerializable(typeof(SemaphoreState))]
[JsonSerializable(typeof(VersionInfo))]
[JsonSerializable(typeof(List<CatalogNode>))]
[JsonSerializable(typeof(List<CatalogServiceEntry>))]
[JsonSerializable(typeof(CatalogNodeServices))]
[JsonSerializable(typeof(Dictionary<string, List<string>?>))]
[JsonSerializable(typeof(Dictionary<string, AgentCheck?>))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(string))]
internal sealed partial class ApiJson : JsonSerializerContext
{
    /// <summary>Compact JSON for request bodies and for the data piped to watch handlers.</summary>
    public static ApiJson Compact { get; } = new(new JsonSerializerOptions
    {
        PropertyNameCaseInsensitive = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>Four-space indentation, as <c>consul watch</c> prints results.</summary>
    public static ApiJson Indented4 { get; } = Indented(' ', 4);

    /// <summary>Tab indentation, as <c>consul kv export</c> prints.</summary>
    public static ApiJson IndentedTab { get; } = Indented('\t', 1);

    /// <summary>Three-space indentation, as <c>consul version -format=json</c> prints.</summary>
    public static ApiJson Indented3 { get; } = Indented(' ', 3);

    // Go escapes only <, > and & (and U+2028/9) where System.Text.Json's default escapes all non-ASCII too; the
    // relaxed encoder is the closer match: non-ASCII keys and names stay readable, as in Consul's output.
    private static ApiJson Indented(char c, int size) => new(new JsonSerializerOptions
    {
        WriteIndented = true,
        IndentCharacter = c,
        IndentSize = size,
        NewLine = "\n",
        PropertyNameCaseInsensitive = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
