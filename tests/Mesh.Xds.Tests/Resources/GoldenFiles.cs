using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Mesh.Xds.Resources;

namespace Mesh.Xds.Tests.Resources;

/// <summary>
/// Golden files for builder output: the resources rendered as Envoy's proto JSON (Any fields resolved through
/// <see cref="Names.AnyTypes"/>), indented, one array per file under <c>Resources/Golden</c> in the source tree.
/// <c>MESH_UPDATE_GOLDEN=1</c> rewrites the files instead of comparing (then review the diff).
/// </summary>
internal static class GoldenFiles
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(Names.AnyTypes));

    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Mesh.sln above {AppContext.BaseDirectory}");
    });

    private static readonly Lazy<string> Folder = new(() => Path.Combine(RepoRoot, "tests", "Mesh.Xds.Tests", "Resources", "Golden"));

    /// <summary>The repository root (the folder holding Mesh.sln), found above the test binaries.</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>The messages as an indented JSON array, newline-terminated.</summary>
    public static string Render(IEnumerable<IMessage> messages)
    {
        var compact = "[" + string.Join(",", messages.Select(m => Formatter.Format(m))) + "]";
        using var document = JsonDocument.Parse(compact);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            document.WriteTo(writer);
        return Encoding.UTF8.GetString(stream.ToArray()).ReplaceLineEndings("\n") + "\n";
    }

    /// <summary>Compares the rendered messages with <c>Golden/&lt;name&gt;.json</c>, or rewrites it when asked to.</summary>
    public static void Assert(string name, IEnumerable<IMessage> messages)
    {
        var path = Path.Combine(Folder.Value, name + ".json");
        var actual = Render(messages);
        if (Environment.GetEnvironmentVariable("MESH_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Folder.Value);
            File.WriteAllText(path, actual);
        }
        Xunit.Assert.True(File.Exists(path), $"golden file {path} is missing; run with MESH_UPDATE_GOLDEN=1 to create it");
        Xunit.Assert.Equal(File.ReadAllText(path), actual);
    }
}
