using Mesh.Agent.Tests.Fixtures;

namespace Mesh.Agent.Tests.Interop;

/// <summary>
/// Debian's python3-consul 0.7.1 against a real dev agent: each script in tests/interop/python runs on its own agent
/// and must exit 0.
/// </summary>
public sealed class PythonClientTests
{
    public static TheoryData<string> Scripts() => InteropScripts.In(InteropScripts.PythonDir, ".py");

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task RunScript_AgainstDevAgent_ExitsZero(string script)
    {
        await InteropScripts.RequirePythonClientAsync();
        await using var agent = await AgentProcess.StartAsync();

        var result = await ChildProcess.RunAsync(
            InteropScripts.DebianPython,
            [Path.Combine(InteropScripts.PythonDir, script)],
            InteropScripts.EnvironmentFor(agent),
            InteropScripts.PythonDir,
            InteropScripts.ScriptTimeout);

        Assert.True(
            result.ExitCode == 0 && !result.TimedOut,
            $"{result.Describe($"python3-consul script {script}")}\n--- agent {agent.NodeName} at {agent.HostPort} ---\n{Tail(agent.Output)}");
    }

    [Fact]
    public void Scripts_InInteropFolder_CoverEveryArea()
    {
        var scripts = InteropScripts.Names(InteropScripts.PythonDir, ".py").ToHashSet();
        foreach (var expected in (string[])["kv_basic.py", "kv_blocking.py", "session_lock.py", "session_api.py", "session_ttl.py", "txn_raw.py", "event_fire_list.py", "status_agent.py"])
        {
            Assert.Contains(expected, scripts);
        }
    }

    internal static string Tail(string text, int lines = 80)
    {
        var all = text.Split('\n');
        return all.Length <= lines ? text : string.Join('\n', all[^lines..]);
    }
}
