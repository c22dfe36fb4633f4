using Mesh.Cli.Http;
using Mesh.Cli.Tests.Support;
using static Mesh.Cli.Tests.Support.Json;

namespace Mesh.Cli.Tests.Commands.Watch;

public sealed class WatchCommandTests
{
    private static CliHarness Agent()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/status/leader", 200, "\"127.0.0.1:8300\"");
        return cli;
    }

    [Fact]
    public async Task Watch_KeyWithoutHandler_PrintsConsulJsonOnceAndExits0()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/kv/foo", 200, Array(Pair("foo", "bar", 4, 5)), 5);
        var run = await cli.RunAsync("watch", "-type=key", "-key=foo");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal($$"""
            {
                "Key": "foo",
                "CreateIndex": 4,
                "ModifyIndex": 5,
                "LockIndex": 0,
                "Flags": 0,
                "Value": "{{B64("bar")}}",
                "Session": ""
            }

            """.ReplaceLineEndings("\n"), run.Out);
        Assert.Equal(["GET /v1/status/leader", "GET /v1/kv/foo"], cli.Handler.Log);
    }

    [Fact]
    public async Task Watch_MissingKey_PrintsNull()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/kv/foo", 404, "", 3);
        var run = await cli.RunAsync("watch", "-type=key", "-key=foo");
        Assert.Equal("null\n", run.Out);
    }

    [Fact]
    public async Task Watch_KeyPrefixStale_ListsPairsWithStaleQuery()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/kv/app", 200, Array(Pair("app/a", "1")), 7);
        var run = await cli.RunAsync("watch", "-stale", "-type=keyprefix", "-prefix=app");
        Assert.StartsWith("[\n    {\n        \"Key\": \"app/a\",", run.Out);
        Assert.Equal("GET /v1/kv/app?recurse&stale", cli.Handler.Log[^1]);
    }

    [Fact]
    public async Task Watch_Services_PassesCatalogJsonThrough()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/catalog/services", 200, """{"consul":[],"web":["v1"]}""", 9);
        var run = await cli.RunAsync("watch", "-type=services");
        Assert.Equal("{\n    \"consul\": [],\n    \"web\": [\n        \"v1\"\n    ]\n}\n", run.Out);
    }

    [Fact]
    public async Task Watch_KeyWithHandler_RunsOnFirstResultAndEachChange()
    {
        var cli = Agent();
        var blocked = new TaskCompletionSource();
        cli.Handler.On("GET", "/v1/kv/cfg", (r, ct) => r.Query switch
        {
            "" => Task.FromResult(StubHandler.Response(200, Array(Pair("cfg", "one", 1, 5)), 5)),
            "index=5" => Task.FromResult(StubHandler.Response(200, Array(Pair("cfg", "two", 1, 6)), 6)),
            _ => StubHandler.Block(blocked)(r, ct),
        });
        using var cts = new CancellationTokenSource();
        var running = cli.RunAsync(cts.Token, "watch", "-type=key", "-key=cfg", "cat; echo \" idx=$CONSUL_INDEX\"");
        await blocked.Task;
        await cts.CancelAsync();
        var run = await running;

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(
            $$"""{"Key":"cfg","CreateIndex":1,"ModifyIndex":5,"LockIndex":0,"Flags":0,"Value":"{{B64("one")}}","Session":""}""" + "\n idx=5\n" +
            $$"""{"Key":"cfg","CreateIndex":1,"ModifyIndex":6,"LockIndex":0,"Flags":0,"Value":"{{B64("two")}}","Session":""}""" + "\n idx=6\n",
            run.Out);
        Assert.Equal(["GET /v1/status/leader", "GET /v1/kv/cfg", "GET /v1/kv/cfg?index=5", "GET /v1/kv/cfg?index=6"], cli.Handler.Log);
    }

    [Fact]
    public async Task Watch_HandlerFails_StopsWithExit1()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/kv/cfg", 200, Array(Pair("cfg", "one")), 5);
        var run = await cli.RunAsync("watch", "-type=key", "-key=cfg", "exit 4");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error executing handler: exit status 4\n", run.Err);
    }

    [Fact]
    public async Task Watch_Event_HandlerGetsOnlyNewEvents()
    {
        const string e1 = "00000000-0000-0000-0000-000000000001", e2 = "00000000-0000-0000-0000-000000000002", e3 = "00000000-0000-0000-0000-000000000003";
        static string Ev(string id) => $$"""{"ID":"{{id}}","Name":"deploy","Payload":null,"NodeFilter":"","ServiceFilter":"","TagFilter":"","Version":1,"LTime":1}""";
        var i2 = EventEndpoint.IdToIndex(e2);
        var i3 = EventEndpoint.IdToIndex(e3);
        var cli = Agent();
        var blocked = new TaskCompletionSource();
        cli.Handler.On("GET", "/v1/event/list", (r, ct) =>
            r.Query == "name=deploy" ? Task.FromResult(StubHandler.Response(200, Array(Ev(e1), Ev(e2)), i2))
            : r.Query == $"index={i2}&name=deploy" ? Task.FromResult(StubHandler.Response(200, Array(Ev(e1), Ev(e2), Ev(e3)), i3))
            : StubHandler.Block(blocked)(r, ct));
        using var cts = new CancellationTokenSource();
        var running = cli.RunAsync(cts.Token, "watch", "-type=event", "-name=deploy", "cat");
        await blocked.Task;
        await cts.CancelAsync();
        var run = await running;
        Assert.Equal($"[{Ev(e1)},{Ev(e2)}]\n[{Ev(e3)}]\n", run.Out);
    }

    [Theory]
    [InlineData(new[] { "watch", "-type=key" }, "Must specify a single key to watch")]
    [InlineData(new[] { "watch", "-type=keyprefix" }, "Must specify a single prefix to watch")]
    [InlineData(new[] { "watch", "-type=bogus" }, "Unsupported watch type: bogus")]
    [InlineData(new[] { "watch", "-type=connect_roots" }, "Type connect_roots is not supported in the CLI tool")]
    [InlineData(new[] { "watch", "-type=event", "-key=k", "-prefix=p" }, "Invalid parameters: [key prefix]")]
    [InlineData(new[] { "watch", "-type=service", "-service=web", "-passingonly=maybe" }, "Failed to parse passingonly flag: strconv.ParseBool: parsing \"maybe\": invalid syntax")]
    public async Task Watch_InvalidParameters_Exit1WithoutRequests(string[] args, string message)
    {
        var cli = Agent();
        var run = await cli.RunAsync(args);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(message + "\n", run.Err);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task Watch_NoType_HelpAndExit1()
    {
        var run = await Agent().RunAsync("watch");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Watch type must be specified\n\nUsage: mesh watch", run.Err);
    }

    [Fact]
    public async Task Watch_AgentUnreachable_FailsFast()
    {
        var cli = new CliHarness { UseNetwork = true };
        var port = Http.ApiClientTests.ClosedPort();
        var run = await cli.RunAsync("watch", $"-http-addr=127.0.0.1:{port}", "-type=key", "-key=k");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"Error querying Mesh agent: Get \"http://127.0.0.1:{port}/v1/status/leader\"", run.Err);
    }

    [Fact]
    public async Task Watch_ServiceWithTagsAndPassing_QueriesHealth()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/health/service/web", 200, "[]", 3);
        await cli.RunAsync("watch", "-type=service", "-service=web", "-tag=a", "-tag=b", "-passingonly=true");
        Assert.Equal("GET /v1/health/service/web?passing=1&tag=a&tag=b", cli.Handler.Log[^1]);
    }
}

public sealed class WatchCatalogTypesTests
{
    private static CliHarness Agent()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/status/leader", 200, "\"127.0.0.1:8300\"");
        return cli;
    }

    [Fact]
    public async Task Watch_NodesWithFilterAndStale_QueriesCatalogNodes()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/catalog/nodes", 200, """[{"Node":"n1","Address":"10.0.0.1"}]""", 4);
        var run = await cli.RunAsync("watch", "-type=nodes", "-stale", "-filter=Node == n1");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("[\n    {\n        \"Node\": \"n1\",\n        \"Address\": \"10.0.0.1\"\n    }\n]\n", run.Out);
        Assert.Equal("GET /v1/catalog/nodes?filter=Node%20%3D%3D%20n1&stale", cli.Handler.Log[^1]);
    }

    [Fact]
    public async Task Watch_ChecksByService_QueriesHealthChecks()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/health/checks/web", 200, "[]", 2);
        var run = await cli.RunAsync("watch", "-type=checks", "-service=web");
        Assert.Equal((0, "[]\n"), (run.ExitCode, run.Out));
        Assert.Equal("GET /v1/health/checks/web", cli.Handler.Log[^1]);
    }

    [Fact]
    public async Task Watch_ChecksByStateOrNothing_QueriesHealthState()
    {
        var cli = Agent();
        cli.Handler.On("GET", "/v1/health/state/critical", 200, "[]", 2);
        cli.Handler.On("GET", "/v1/health/state/any", 200, "[]", 2);
        await cli.RunAsync("watch", "-type=checks", "-state=critical");
        Assert.Equal("GET /v1/health/state/critical", cli.Handler.Log[^1]);
        var cli2 = Agent();
        cli2.Handler.On("GET", "/v1/health/state/any", 200, "[]", 2);
        await cli2.RunAsync("watch", "-type=checks");
        Assert.Equal("GET /v1/health/state/any", cli2.Handler.Log[^1]);
    }

    [Fact]
    public async Task Watch_ChecksServiceAndState_Exit1()
    {
        var run = await Agent().RunAsync("watch", "-type=checks", "-service=web", "-state=passing");
        Assert.Equal((1, "Cannot specify service and state\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Watch_ServiceWithoutName_Exit1()
    {
        var run = await Agent().RunAsync("watch", "-type=service");
        Assert.Equal((1, "Must specify a single service to watch\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Watch_ServiceBadPassingOnly_Exit1()
    {
        var run = await Agent().RunAsync("watch", "-type=service", "-service=web", "-passingonly=yes");
        Assert.Equal((1, "Failed to parse passingonly flag: strconv.ParseBool: parsing \"yes\": invalid syntax\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Watch_ServicesWithServiceParameter_InvalidParameters()
    {
        var run = await Agent().RunAsync("watch", "-type=services", "-service=web");
        Assert.Equal((1, "Invalid parameters: [service]\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Watch_Service400_LoggedAndRetriedUntilCancelled()
    {
        var cli = Agent();
        var attempts = 0;
        cli.Handler.On("GET", "/v1/health/service/web", _ =>
            Interlocked.Increment(ref attempts) == 1 ? StubHandler.Response(400, "Bad filter") : StubHandler.Response(200, "[]", 5));
        var run = await cli.RunAsync("watch", "-type=service", "-service=web");
        Assert.Equal((0, "[]\n"), (run.ExitCode, run.Out));
        Assert.StartsWith("[ERR] mesh.watch: Watch (type: service) errored: Unexpected response code: 400 (Bad filter), retry in ", run.Err);
    }
}
