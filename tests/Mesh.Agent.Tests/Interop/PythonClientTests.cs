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
        await InteropScripts.RunAgainstFreshAgentAsync(InteropScripts.DebianPython, InteropScripts.PythonDir, script, "python3-consul");
    }

    [Fact]
    public void Scripts_InInteropFolder_CoverEveryArea()
    {
        var scripts = InteropScripts.Names(InteropScripts.PythonDir, ".py").ToHashSet();
        foreach (var expected in (string[])["kv_basic.py", "kv_blocking.py", "session_lock.py", "session_api.py", "session_ttl.py", "txn_raw.py", "event_fire_list.py", "status_agent.py", "prepared_query.py"])
        {
            Assert.Contains(expected, scripts);
        }
    }
}
