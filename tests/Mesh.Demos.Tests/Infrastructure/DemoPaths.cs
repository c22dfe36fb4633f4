namespace Mesh.Demos.Tests.Infrastructure;

/// <summary>Where the programs under test and the demo scripts are.</summary>
internal static class DemoPaths
{
    /// <summary>The CLI, copied to the test output by the Mesh.Cli project reference.</summary>
    public static string MeshDll => Path.Combine(AppContext.BaseDirectory, "mesh.dll");

    /// <summary>The demo services, copied to the test output by the Mesh.Demos project reference.</summary>
    public static string MeshDemoDll => Path.Combine(AppContext.BaseDirectory, "mesh-demo.dll");

    /// <summary>The repository root, where the READMEs' commands are run from.</summary>
    public static string Root => RepoPaths.Root;

    /// <summary>A file under <c>demos/</c>.</summary>
    public static string Demos(params string[] parts) => Path.Combine([Root, "demos", .. parts]);

    /// <summary>The <c>dotnet</c> host running these tests, so children use the same runtime.</summary>
    public static string Dotnet()
    {
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk)) return fromSdk;
        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
