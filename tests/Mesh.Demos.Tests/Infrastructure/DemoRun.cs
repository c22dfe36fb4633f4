using System.Text;

namespace Mesh.Demos.Tests.Infrastructure;

/// <summary>
/// One run of a demo's scripts with every port moved to a free one, a state dir of its own, and the CLI and demo
/// services the test build made (<c>MESH_BIN</c>, <c>MESH_DEMO_BIN</c>), so nothing is built and nothing collides.
/// Disposing runs the demo's stop script, then kills whatever still carries this run's <c>DEMO_STATE_DIR</c> in its
/// environment (a test that failed half-way must not leave processes behind), and deletes the state dir.
/// </summary>
internal sealed class DemoRun : IAsyncDisposable
{
    private readonly string _stopScript;
    private readonly Dictionary<string, string> _environment;

    private DemoRun(string stopScript, Dictionary<string, string> environment, string stateDir)
    {
        _stopScript = stopScript;
        _environment = environment;
        StateDir = stateDir;
        MeshWrapper = Path.Combine(stateDir, "bin", "mesh");
    }

    /// <summary>The run's state dir (<c>DEMO_STATE_DIR</c>): pid files, logs, rendered definitions.</summary>
    public string StateDir { get; }

    /// <summary>An executable that runs the test build's CLI, standing in for the repository's <c>./mesh</c> launcher.</summary>
    public string MeshWrapper { get; }

    /// <summary>The environment every command of this run gets.</summary>
    public IReadOnlyDictionary<string, string> Environment => _environment;

    /// <summary>The ports this run uses, by the environment variable that sets them.</summary>
    public Dictionary<string, int> Ports { get; } = [];

    /// <summary>The agent's HTTP API, <c>http://127.0.0.1:port/</c>.</summary>
    public Uri AgentAddress => new($"http://{_environment["MESH_HTTP_ADDR"]}/");

    /// <summary>A run of demos/connect (or demos/tracing, with <paramref name="stopScript"/> its stop.sh).</summary>
    public static DemoRun ForConnect(string stopScript = "demos/connect/stop.sh", IReadOnlyDictionary<string, string>? extra = null)
    {
        var run = Create(stopScript, ["MESH_HTTP_ADDR", "MESH_GRPC_ADDR", "DEMO_DNS_PORT", "COUNTING_PORT", "DASHBOARD_PORT",
            "COUNTING_UPSTREAM_PORT", "COUNTING_SIDECAR_PORT", "DASHBOARD_SIDECAR_PORT"], extra);
        run._environment["COUNTING_ADMIN_BIND"] = "127.0.0.1:0";
        run._environment["DASHBOARD_ADMIN_BIND"] = "127.0.0.1:0";
        return run;
    }

    /// <summary>A run of demos/canary.</summary>
    public static DemoRun ForCanary(IReadOnlyDictionary<string, string>? extra = null) =>
        Create("demos/canary/stop.sh", ["MESH_HTTP_ADDR", "MESH_GRPC_ADDR", "DEMO_DNS_PORT", "WEB_PORT", "API_V1_PORT", "API_V2_PORT",
            "API_UPSTREAM_PORT", "WEB_SIDECAR_PORT", "API_V1_SIDECAR_PORT", "API_V2_SIDECAR_PORT"], extra);

    private static DemoRun Create(string stopScript, string[] portVariables, IReadOnlyDictionary<string, string>? extra)
    {
        var stateDir = Path.Combine(Path.GetTempPath(), "mesh-demo-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path.Combine(stateDir, "bin"));
        var environment = new Dictionary<string, string>
        {
            ["DEMO_STATE_DIR"] = stateDir,
            ["MESH_BIN"] = DemoPaths.MeshDll,
            ["MESH_DEMO_BIN"] = DemoPaths.MeshDemoDll,
            // Two cores shared with other test assemblies: the first start of each .NET process is slow.
            ["START_TIMEOUT"] = "240",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        var run = new DemoRun(stopScript, environment, stateDir);
        var ports = FreePorts.Take(portVariables.Length);
        for (var i = 0; i < ports.Length; i++)
        {
            run.Ports[portVariables[i]] = ports[i];
            environment[portVariables[i]] = portVariables[i] is "MESH_HTTP_ADDR" or "MESH_GRPC_ADDR" ? $"127.0.0.1:{ports[i]}" : ports[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (var (name, value) in extra ?? new Dictionary<string, string>()) environment[name] = value;
        File.WriteAllText(run.MeshWrapper, $"#!/bin/sh\nexec \"{DemoPaths.Dotnet()}\" \"{DemoPaths.MeshDll}\" \"$@\"\n");
        File.SetUnixFileMode(run.MeshWrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return run;
    }

    /// <summary>Runs a command line from the repository root with this run's environment.</summary>
    public Task<CommandResult> RunAsync(string command, TimeSpan? timeout = null) =>
        Shell.RunAsync(command, _environment, timeout ?? TimeSpan.FromMinutes(5));

    /// <summary>Runs the CLI (<c>mesh ...</c>) against this run's agent.</summary>
    public Task<CommandResult> MeshAsync(string arguments) => RunAsync($"\"{MeshWrapper}\" {arguments}", TimeSpan.FromMinutes(1));

    /// <summary>Every log of the run, for failure messages.</summary>
    public string Logs()
    {
        var text = new StringBuilder();
        var logs = Path.Combine(StateDir, "logs");
        if (!Directory.Exists(logs)) return "(no logs)";
        foreach (var log in Directory.GetFiles(logs, "*.log").Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(log);
            text.AppendLine($"---- {Path.GetFileName(log)} (last 40 of {lines.Length} lines) ----");
            foreach (var line in lines.TakeLast(40)) text.AppendLine(line);
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(_stopScript, TimeSpan.FromMinutes(1));
        }
        catch (TimeoutException)
        {
            // The sweep below ends whatever the stop script left.
        }

        ProcessSweep.KillWithEnvironment("DEMO_STATE_DIR", StateDir);
        try
        {
            Directory.Delete(StateDir, recursive: true);
        }
        catch (IOException)
        {
            // A process that was just killed may still have had a log open; the temp dir is cleaned by the system.
        }
    }
}
