using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands;

public sealed class SimpleCommandTests
{
    [Fact]
    public async Task Version_Pretty_ConsulLayout()
    {
        var run = await new CliHarness().RunAsync("version");
        Assert.Equal(0, run.ExitCode);
        var lines = run.Out.Split('\n');
        Assert.Equal("Mesh v0.1.0", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("Build Date ", StringComparison.Ordinal));
        Assert.Contains("Protocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)\n", run.Out);
    }

    [Fact]
    public async Task Version_Json_HasVersionAndRpc()
    {
        var run = await new CliHarness().RunAsync("version", "-format=json");
        using var doc = System.Text.Json.JsonDocument.Parse(run.Out);
        Assert.Equal("0.1.0", doc.RootElement.GetProperty("Version").GetString());
        Assert.Equal(3, doc.RootElement.GetProperty("RPC").GetProperty("Max").GetInt32());
        Assert.StartsWith("{\n   \"Version\"", run.Out);
    }

    [Fact]
    public async Task Version_UnknownFormat_Exits1()
    {
        var run = await new CliHarness().RunAsync("version", "-format=xml");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Unknown format: xml\n", run.Err);
    }

    [Fact]
    public async Task Keygen_NoAgent_Prints32RandomBytesBase64()
    {
        var cli = new CliHarness();
        var a = (await cli.RunAsync("keygen")).Out;
        var b = (await new CliHarness().RunAsync("keygen")).Out;
        Assert.Equal(32, Convert.FromBase64String(a.TrimEnd('\n')).Length);
        Assert.NotEqual(a, b);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task Event_Fire_ChecksAgentThenFiresWithFiltersAndPayload()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/self", 200, """{"Config":{"NodeName":"n1"}}""")
            .On("PUT", "/v1/event/fire/deploy", 200, """{"ID":"b54fe110-7af5-cafc-d1fb-afc8ba432b1c","Name":"deploy","Payload":null,"NodeFilter":"","ServiceFilter":"","TagFilter":"","Version":1,"LTime":0}""");
        var run = await cli.RunAsync("event", "-name=deploy", "-node=web.*", "-service=api", "-tag=v1", "go");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("Event ID: b54fe110-7af5-cafc-d1fb-afc8ba432b1c\n", run.Out);
        Assert.Equal(["GET /v1/agent/self", "PUT /v1/event/fire/deploy?node=web.%2A&service=api&tag=v1"], cli.Handler.Log);
        Assert.Equal("go", cli.Handler.Requests.Last().BodyText);
    }

    [Fact]
    public async Task Event_NoName_HelpAndExit1()
    {
        var run = await new CliHarness().RunAsync("event");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Event name must be specified\n\nUsage: mesh event", run.Err);
    }

    [Fact]
    public async Task Event_TagWithoutService_Exit1()
    {
        var run = await new CliHarness().RunAsync("event", "-name=x", "-tag=v1");
        Assert.Equal("Cannot provide tag filter without service filter.\n", run.Err);
    }

    [Fact]
    public async Task Event_BadRegex_Exit1()
    {
        var run = await new CliHarness().RunAsync("event", "-name=x", "-node=(");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Failed to compile node filter regexp: ", run.Err);
    }

    [Fact]
    public async Task Event_FireRejected_ReportsError()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/self", 200, "{}").On("PUT", "/v1/event/fire/x", 403, "Permission denied");
        var run = await cli.RunAsync("event", "-name=x");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error firing event: Unexpected response code: 403 (Permission denied)\n", run.Err);
    }

    [Fact]
    public async Task Info_Stats_SortedSectionsAndKeys()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/self", 200, """{"Config":{},"Stats":{"raft":{"state":"Leader","applied_index":"12"},"agent":{"services":"0","checks":"1"}}}""");
        var run = await cli.RunAsync("info");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("agent:\n\tchecks = 1\n\tservices = 0\nraft:\n\tapplied_index = 12\n\tstate = Leader\n", run.Out);
    }

    [Fact]
    public async Task Info_NoStats_Exit1()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/self", 200, "{}");
        var run = await cli.RunAsync("info");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Agent response did not contain 'Stats' key", run.Err);
    }

    [Fact]
    public async Task Leave_Success_PrintsGracefulLeave()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/agent/leave", 200);
        var run = await cli.RunAsync("leave");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("Graceful leave complete\n", run.Out);
    }

    [Fact]
    public async Task Leave_Error_Exit1()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/agent/leave", 500, "boom");
        var run = await cli.RunAsync("leave");
        Assert.Equal("Error leaving: Unexpected response code: 500 (boom)\n", run.Err);
    }

    private const string MembersBody = """
        [{"Name":"web-1","Addr":"10.0.0.2","Port":8301,"Tags":{"role":"node","dc":"dc1","build":"0.1.0:abc","vsn":"2"},"Status":1},
         {"Name":"srv-1","Addr":"10.0.0.1","Port":8301,"Tags":{"role":"consul","dc":"dc1","build":"0.1.0:abc","vsn":"2"},"Status":1},
         {"Name":"db-1","Addr":"::1","Port":8301,"Tags":{"role":"node","dc":"dc1","build":"0.1.0","vsn":"2"},"Status":4}]
        """;

    [Fact]
    public async Task Members_Table_ServersFirstThenByName()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/members", 200, MembersBody);
        var run = await cli.RunAsync("members");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["GET /v1/agent/members?segment=_all"], cli.Handler.Log);
        Assert.Equal("""
            Node   Address        Status  Type    Build  Protocol  DC   Partition  Segment
            srv-1  10.0.0.1:8301  alive   server  0.1.0  2         dc1  default    <all>
            db-1   [::1]:8301     failed  client  0.1.0  2         dc1  default    <default>
            web-1  10.0.0.2:8301  alive   client  0.1.0  2         dc1  default    <default>

            """.ReplaceLineEndings("\n"), run.Out);
    }

    [Fact]
    public async Task Members_StatusFilterMatchesNothing_Exit2()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/members", 200, MembersBody);
        var run = await cli.RunAsync("members", "-status=left");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task Members_Detailed_ListsSortedTags()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/members", 200, MembersBody);
        var run = await cli.RunAsync("members", "-detailed", "-status=alive");
        Assert.Contains("srv-1  10.0.0.1:8301  alive   ap=default,build=0.1.0:abc,dc=dc1,role=consul,segment=<all>,vsn=2\n", run.Out);
        Assert.DoesNotContain("db-1", run.Out);
    }
}
