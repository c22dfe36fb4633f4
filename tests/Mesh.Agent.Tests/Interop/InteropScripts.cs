using System.Text.Json;
using Mesh.Agent.Tests.Fixtures;

namespace Mesh.Agent.Tests.Interop;

/// <summary>Finds the interop scripts and checks that the real clients they drive are installed.</summary>
internal static class InteropScripts
{
    /// <summary>Debian's interpreter: the one that sees python3-consul (the python3 on PATH may be another).</summary>
    public const string DebianPython = "/usr/bin/python3";

    /// <summary>How long one script may run against its agent.</summary>
    public static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(3);

    private static readonly Lazy<Task<string?>> PythonProblem = new(FindPythonProblemAsync);
    private static readonly Lazy<Task<string?>> NodeProblem = new(FindNodeProblemAsync);
    private static readonly Lazy<Task<string?>> CurlProblem = new(FindCurlProblemAsync);

    public static string PythonDir => Path.Combine(RepoPaths.Interop, "python");

    public static string NodeDir => Path.Combine(RepoPaths.Interop, "node");

    public static string CurlDir => Path.Combine(RepoPaths.Interop, "curl");

    /// <summary>Script file names (not helpers starting with '_') with <paramref name="extension"/> in a folder.</summary>
    public static IReadOnlyList<string> Names(string folder, string extension) =>
        Directory.EnumerateFiles(folder, "*" + extension)
            .Select(path => Path.GetFileName(path))
            .Where(name => !name.StartsWith('_'))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary><see cref="Names"/> as theory data, one case per script.</summary>
    public static TheoryData<string> In(string folder, string extension)
    {
        var data = new TheoryData<string>();
        foreach (var name in Names(folder, extension))
        {
            data.Add(name);
        }

        return data;
    }

    /// <summary>Fails the test (never skips) when python3-consul is not importable by Debian's python3.</summary>
    public static async Task RequirePythonClientAsync()
    {
        var problem = await PythonProblem.Value;
        if (problem is not null)
        {
            Assert.Fail($"{problem}. Run tests/setup.sh (as root) to install the test peers.");
        }
    }

    /// <summary>Fails the test (never skips) when node or the pinned npm consul client is missing.</summary>
    public static async Task RequireNodeClientAsync()
    {
        var problem = await NodeProblem.Value;
        if (problem is not null)
        {
            Assert.Fail($"{problem}. Run tests/setup.sh to install the test peers (npm ci in tests/interop/node).");
        }
    }

    /// <summary>Fails the test (never skips) when curl or jq, which the curl scripts use, is missing.</summary>
    public static async Task RequireCurlAsync()
    {
        var problem = await CurlProblem.Value;
        if (problem is not null)
        {
            Assert.Fail($"{problem}. Run tests/setup.sh (as root) to install the test peers.");
        }
    }

    /// <summary>Environment for a script run against <paramref name="agent"/>.</summary>
    public static Dictionary<string, string> EnvironmentFor(AgentProcess agent) => new()
    {
        ["MESH_HTTP_ADDR"] = agent.HostPort,
        ["MESH_NODE_NAME"] = agent.NodeName,
        // The clients also read CONSUL_HTTP_ADDR; point it at the same agent so nothing reaches another one.
        ["CONSUL_HTTP_ADDR"] = agent.HostPort,
        ["PYTHONDONTWRITEBYTECODE"] = "1",
        ["PYTHONIOENCODING"] = "utf-8",
        ["PYTHONUNBUFFERED"] = "1",
        ["NO_COLOR"] = "1",
    };

    private static async Task<string?> FindPythonProblemAsync()
    {
        if (!File.Exists(DebianPython))
        {
            return $"{DebianPython} does not exist";
        }

        var probe = await ChildProcess.RunAsync(
            DebianPython,
            ["-c", "import consul, requests; print(consul.__version__)"],
            new Dictionary<string, string>(),
            Path.GetTempPath(),
            TimeSpan.FromSeconds(30));
        return probe.ExitCode == 0 ? null : $"{DebianPython} cannot import consul (python3-consul): {probe.Output.Trim()}";
    }

    private static async Task<string?> FindCurlProblemAsync()
    {
        foreach (var tool in (string[])["curl", "jq"])
        {
            try
            {
                var probe = await ChildProcess.RunAsync(tool, ["--version"], new Dictionary<string, string>(), Path.GetTempPath(), TimeSpan.FromSeconds(30));
                if (probe.ExitCode != 0)
                {
                    return $"{tool} --version failed: {probe.Output.Trim()}";
                }
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                return $"{tool} is not on PATH ({ex.Message})";
            }
        }

        return null;
    }

    private static async Task<string?> FindNodeProblemAsync()
    {
        ChildProcessResult version;
        try
        {
            version = await ChildProcess.RunAsync("node", ["--version"], new Dictionary<string, string>(), NodeDir, TimeSpan.FromSeconds(30));
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"node is not on PATH ({ex.Message})";
        }

        if (version.ExitCode != 0)
        {
            return $"node --version failed: {version.Output.Trim()}";
        }

        var installed = Path.Combine(NodeDir, "node_modules", "consul", "package.json");
        if (!File.Exists(installed))
        {
            return $"{installed} is missing";
        }

        using var pin = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(NodeDir, "package.json")));
        using var have = JsonDocument.Parse(await File.ReadAllTextAsync(installed));
        var wanted = pin.RootElement.GetProperty("dependencies").GetProperty("consul").GetString();
        var got = have.RootElement.GetProperty("version").GetString();
        return wanted == got ? null : $"node_modules has consul {got} but package.json pins {wanted}";
    }

    /// <summary>Runs one client script against a fresh dev agent and fails with both sides' output unless it exits 0.</summary>
    public static async Task RunAgainstFreshAgentAsync(string executable, string folder, string script, string client)
    {
        await using var agent = await AgentProcess.StartAsync();
        var result = await ChildProcess.RunAsync(executable, [Path.Combine(folder, script)], EnvironmentFor(agent), folder, ScriptTimeout);
        Assert.True(
            result.ExitCode == 0 && !result.TimedOut,
            $"{result.Describe($"{client} script {script}")}\n--- agent {agent.NodeName} at {agent.HostPort} ---\n{agent.OutputTail()}");
    }
}
