using Mesh.Agent.Tests.Fixtures;

namespace Mesh.Agent.Tests.Interop;

/// <summary>
/// Plain curl (with jq to read the JSON) against a real dev agent: each script in tests/interop/curl runs on its own
/// agent and must exit 0. These cover the endpoints no packaged client drives yet (config entries, intentions).
/// </summary>
public sealed class CurlClientTests
{
    public static TheoryData<string> Scripts() => InteropScripts.In(InteropScripts.CurlDir, ".sh");

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task RunScript_AgainstDevAgent_ExitsZero(string script)
    {
        await InteropScripts.RequireCurlAsync();
        await InteropScripts.RunAgainstFreshAgentAsync("bash", InteropScripts.CurlDir, script, "curl");
    }

    [Theory]
    [InlineData("config_entries.sh")]
    [InlineData("intentions.sh")]
    public void Scripts_InInteropFolder_CoverTheEndpoints(string script) =>
        Assert.Contains(script, InteropScripts.Names(InteropScripts.CurlDir, ".sh"));
}
