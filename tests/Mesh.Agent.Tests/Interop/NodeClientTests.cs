using Mesh.Agent.Tests.Fixtures;

namespace Mesh.Agent.Tests.Interop;

/// <summary>
/// The npm <c>consul</c> client (pinned in tests/interop/node/package.json) against a real dev agent: each script in
/// tests/interop/node runs on its own agent and must exit 0.
/// </summary>
public sealed class NodeClientTests
{
    public static TheoryData<string> Scripts() => InteropScripts.In(InteropScripts.NodeDir, ".mjs");

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task RunScript_AgainstDevAgent_ExitsZero(string script)
    {
        await InteropScripts.RequireNodeClientAsync();
        await InteropScripts.RunAgainstFreshAgentAsync("node", InteropScripts.NodeDir, script, "npm consul");
    }

    [Fact]
    public void Scripts_InInteropFolder_CoverEveryArea()
    {
        var scripts = InteropScripts.Names(InteropScripts.NodeDir, ".mjs").ToHashSet();
        foreach (var expected in (string[])["kv_basic.mjs", "kv_blocking.mjs", "session_lock.mjs", "session_api.mjs", "session_ttl.mjs", "txn.mjs", "event_fire_list.mjs", "status_agent.mjs"])
        {
            Assert.Contains(expected, scripts);
        }
    }
}
