using Mesh.Demos.Canary;
using Mesh.Demos.Counting;
using Mesh.Demos.Dashboard;

namespace Mesh.Demos.Hosting;

/// <summary>The <c>mesh-demo</c> command: picks the demo service named by the first argument and runs it.</summary>
internal static class DemoProgram
{
    /// <summary>Runs the subcommand in <paramref name="args"/>[0]; exit code 2 for an unknown or missing one.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            await stderr.WriteLineAsync("mesh-demo: a subcommand is required");
            WriteUsage(stderr);
            return 2;
        }

        if (args[0] is "-h" or "-help" or "--help" or "help")
        {
            WriteUsage(stdout);
            return 0;
        }

        if (Create(args[0]) is not { } service)
        {
            await stderr.WriteLineAsync($"mesh-demo: unknown subcommand \"{args[0]}\"");
            WriteUsage(stderr);
            return 2;
        }

        return await DemoHost.RunAsync(service, args[1..], stdout, stderr);
    }

    private static IDemoService? Create(string name) => name switch
    {
        "counting" => new CountingService(),
        "dashboard" => new DashboardService(),
        "api" => new ApiService(),
        "web" => new WebService(),
        _ => null,
    };

    private static void WriteUsage(TextWriter writer)
    {
        writer.WriteLine("Usage: mesh-demo <subcommand> [flags]");
        writer.WriteLine();
        writer.WriteLine("The services of Mesh's demos. Each serves HTTP until SIGTERM or SIGINT; `mesh-demo <subcommand> -h` lists its flags.");
        writer.WriteLine();
        writer.WriteLine("Subcommands:");
        foreach (var service in (IDemoService[])[new CountingService(), new DashboardService(), new ApiService(), new WebService()])
        {
            writer.WriteLine($"    {service.Name,-10} {service.Summary}");
        }
    }
}
