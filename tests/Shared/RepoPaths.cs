namespace Mesh.Tests.Shared;

/// <summary>Locations in the source tree, found from the test output folder.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>The repository root (the folder holding Mesh.sln).</summary>
    public static string Root => RootLazy.Value;

    /// <summary><c>tests/interop</c>.</summary>
    public static string Interop => Path.Combine(Root, "tests", "interop");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Mesh.sln above {AppContext.BaseDirectory}");
    }
}
