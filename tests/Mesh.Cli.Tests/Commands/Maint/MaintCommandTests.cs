using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Maint;

public sealed class MaintCommandTests
{
    private static CliHarness Agent()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/self", 200, """{"Config":{"NodeName":"node-1"}}""");
        return cli;
    }

    [Fact]
    public async Task EnableNode_SendsReasonAlways()
    {
        var cli = Agent();
        cli.Handler.On("PUT", "/v1/agent/maintenance", 200);
        var run = await cli.RunAsync("maint", "-enable");
        Assert.Equal((0, "Node maintenance is now enabled\n"), (run.ExitCode, run.Out));
        Assert.Equal(["GET /v1/agent/self", "PUT /v1/agent/maintenance?enable=true&reason="], cli.Handler.Log);
    }

    [Fact]
    public async Task EnableService_WithReason_EscapedQuery()
    {
        var cli = Agent();
        cli.Handler.On("PUT", "/v1/agent/service/maintenance/web-1", 200);
        var run = await cli.RunAsync("maint", "-enable", "-service=web-1", "-reason=disk swap & reboot");
        Assert.Equal((0, "Service maintenance is now enabled for \"web-1\"\n"), (run.ExitCode, run.Out));
        Assert.Equal("PUT /v1/agent/service/maintenance/web-1?enable=true&reason=disk%20swap%20%26%20reboot", cli.Handler.Log[^1]);
    }

    [Fact]
    public async Task DisableNodeAndService_NoReasonSent()
    {
        var cli = Agent();
        cli.Handler.On("PUT", "/v1/agent/maintenance", 200);
        cli.Handler.On("PUT", "/v1/agent/service/maintenance/web", 200);
        Assert.Equal("Node maintenance is now disabled\n", (await cli.RunAsync("maint", "-disable")).Out);
        Assert.Equal("PUT /v1/agent/maintenance?enable=false", cli.Handler.Log[^1]);
        var cli2 = Agent();
        cli2.Handler.On("PUT", "/v1/agent/service/maintenance/web", 200);
        Assert.Equal("Service maintenance is now disabled for \"web\"\n", (await cli2.RunAsync("maint", "-disable", "-service", "web")).Out);
        Assert.Equal("PUT /v1/agent/service/maintenance/web?enable=false", cli2.Handler.Log[^1]);
    }

    [Fact]
    public async Task List_ShowsNodeThenServicesInConsulLayout()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/agent/checks", 200, """
            {"_service_maintenance:web":{"CheckID":"_service_maintenance:web","ServiceID":"web","Notes":"deploy"},
             "serfHealth":{"CheckID":"serfHealth","ServiceID":"","Notes":""},
             "_node_maintenance":{"CheckID":"_node_maintenance","ServiceID":"","Notes":"Maintenance mode is enabled for this node, but no reason was provided. This is a default message."}}
            """);
        var run = await cli.RunAsync("maint");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("""
            Node:
              Name:   node-1
              Reason: Maintenance mode is enabled for this node, but no reason was provided. This is a default message.

            Service:
              ID:     web
              Reason: deploy


            """.ReplaceLineEndings("\n"), run.Out);
    }

    [Fact]
    public async Task List_NothingInMaintenance_PrintsNothing()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/agent/checks", 200, "{}");
        var run = await cli.RunAsync("maint");
        Assert.Equal((0, "", ""), (run.ExitCode, run.Out, run.Err));
    }

    [Theory]
    [InlineData("Only one of -enable or -disable may be provided", "-enable", "-disable")]
    [InlineData("Reason may only be provided with -enable", "-disable", "-reason=x")]
    [InlineData("Reason may only be provided with -enable", "-reason=x")]
    [InlineData("Service requires either -enable or -disable", "-service=web")]
    public async Task ConflictingFlags_Exit1WithoutRequests(string message, params string[] args)
    {
        var cli = Agent();
        var run = await cli.RunAsync(["maint", .. args]);
        Assert.Equal((1, message + "\n"), (run.ExitCode, run.Err));
        Assert.Empty(cli.Handler.Log);
    }

    [Fact]
    public async Task BadBoolValue_FlagErrorExit1()
    {
        var run = await Agent().RunAsync("maint", "-enable=maybe");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("invalid boolean value \"maybe\" for -enable: parse error\n", run.Err);
    }

    [Fact]
    public async Task Enable_AgentAnswers404_ShowsAnswerExit1()
    {
        var cli = Agent();
        cli.Handler.On("PUT", "/v1/agent/service/maintenance/ghost", 404, "Unknown service ID \"ghost\"");
        var run = await cli.RunAsync("maint", "-enable", "-service=ghost");
        Assert.Equal((1, "Error enabling service maintenance: Unexpected response code: 404 (Unknown service ID \"ghost\")\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Disable_AgentAnswers500_Exit1()
    {
        var cli = Agent();
        cli.Handler.On("PUT", "/v1/agent/maintenance", 500, "boom");
        var run = await cli.RunAsync("maint", "-disable");
        Assert.Equal((1, "Error disabling node maintenance: Unexpected response code: 500 (boom)\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task List_ChecksFail_Exit1()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/agent/checks", 403, "Permission denied");
        var run = await cli.RunAsync("maint");
        Assert.Equal((1, "Error getting checks: Unexpected response code: 403 (Permission denied)\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task ConnectionRefused_QueryingAgentExit1()
    {
        var cli = new CliHarness { UseNetwork = true };
        var port = Http.ApiClientTests.ClosedPort();
        cli.Env["MESH_HTTP_ADDR"] = $"127.0.0.1:{port}";
        var run = await cli.RunAsync("maint", "-enable");
        Assert.Equal((1, $"Error querying Mesh agent: Get \"http://127.0.0.1:{port}/v1/agent/self\": dial tcp 127.0.0.1:{port}: connect: connection refused\n"),
            (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task DatacenterFlag_NotAccepted()
    {
        // Like Consul's maint, only the client flags: there is no -datacenter.
        var run = await Agent().RunAsync("maint", "-dc=x");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("flag provided but not defined: -dc\n", run.Err);
    }
}
