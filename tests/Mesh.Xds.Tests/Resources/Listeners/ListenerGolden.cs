using System.Text.Encodings.Web;
using System.Text.Json;
using Envoy.Config.Listener.V3;
using Envoy.Config.Trace.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;

namespace Mesh.Xds.Tests.Resources.Listeners;

/// <summary>
/// Golden files for listener resources: protobuf's JSON form (what Envoy's admin config dump shows, Any bodies
/// expanded), indented. <c>MESH_UPDATE_GOLDEN=1</c> rewrites them instead of comparing (then review the diff).
/// </summary>
internal static class ListenerGolden
{
    private static readonly TypeRegistry Types = TypeRegistry.FromMessages(
        Listener.Descriptor, HttpConnectionManager.Descriptor, TcpProxy.Descriptor, Router.Descriptor, HttpRbac.Descriptor,
        NetworkRbac.Descriptor, DownstreamTlsContext.Descriptor, ZipkinConfig.Descriptor, OpenTelemetryConfig.Descriptor);

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(Types));

    /// <summary>The messages as one indented JSON array, with a final newline.</summary>
    public static string Render(IEnumerable<IMessage> messages)
    {
        var compact = "[" + string.Join(",", messages.Select(m => Formatter.Format(m))) + "]";
        using var document = JsonDocument.Parse(compact);
        using var stream = new MemoryStream();
        // Relaxed escaping keeps regexes and '+' readable in the files; the content is only compared, never served.
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            document.WriteTo(writer);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()).ReplaceLineEndings("\n") + "\n";
    }

    /// <summary>Compares <paramref name="messages"/> with <c>Golden/&lt;name&gt;.json</c>.</summary>
    public static void Assert(string name, IEnumerable<IMessage> messages)
    {
        var path = Path.Combine(RepoRoot(), "tests", "Mesh.Xds.Tests", "Resources", "Listeners", "Golden", name + ".json");
        var actual = Render(messages);
        if (Environment.GetEnvironmentVariable("MESH_UPDATE_GOLDEN") == "1") File.WriteAllText(path, actual);
        Xunit.Assert.True(File.Exists(path), $"golden file {path} is missing; run with MESH_UPDATE_GOLDEN=1 to create it");
        Xunit.Assert.Equal(File.ReadAllText(path), actual);
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Mesh.sln above {AppContext.BaseDirectory}");
    }
}
