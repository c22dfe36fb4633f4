namespace Mesh.Xds.Tests.Bootstrap;

/// <summary>
/// Golden files for bootstraps in <c>tests/Mesh.Xds.Tests/Bootstrap/Golden</c>: a test compares its output with the
/// file; <c>MESH_UPDATE_GOLDEN=1</c> rewrites the file instead (then review the diff).
/// </summary>
internal static class BootstrapGolden
{
    private static readonly Lazy<string> Dir = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
                return Path.Combine(dir.FullName, "tests", "Mesh.Xds.Tests", "Bootstrap", "Golden");
        throw new InvalidOperationException($"no Mesh.sln above {AppContext.BaseDirectory}");
    });

    public static void Assert(string name, string actual)
    {
        var path = Path.Combine(Dir.Value, name + ".json");
        if (Environment.GetEnvironmentVariable("MESH_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Dir.Value);
            File.WriteAllText(path, actual);
        }
        Xunit.Assert.True(File.Exists(path), $"golden file {path} is missing; run with MESH_UPDATE_GOLDEN=1 to create it");
        Xunit.Assert.Equal(File.ReadAllText(path), actual);
    }
}
