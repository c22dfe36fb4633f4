using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Catalog;

public sealed class CatalogCommandTests
{
    private const string Nodes = """
        [{"ID":"1b662d97-0f5e-4c9b-8d3a-1e2f3a4b5c6d","Node":"worker-01","Address":"10.4.5.31","Datacenter":"dc1",
          "TaggedAddresses":{"wan":"1.2.3.4","lan":"10.4.5.31"},"Meta":{"rack":"r1","env":"prod"}},
         {"ID":"","Node":"db","Address":"10.0.0.9","Datacenter":"dc1","TaggedAddresses":null,"Meta":null}]
        """;

    [Fact]
    public async Task Datacenters_ListsOnePerLine()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/datacenters", 200, """["dc1","dc2"]""");
        var run = await cli.RunAsync("catalog", "datacenters");
        Assert.Equal((0, "dc1\ndc2\n", ""), (run.ExitCode, run.Out, run.Err));
        Assert.Equal(["GET /v1/catalog/datacenters"], cli.Handler.Log);
    }

    [Fact]
    public async Task Datacenters_ExtraArgument_Exit1()
    {
        var run = await new CliHarness().RunAsync("catalog", "datacenters", "x");
        Assert.Equal((1, "Too many arguments (expected 0, got 1)\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Nodes_PrintsConsulTableWithShortIds()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/nodes", 200, Nodes);
        var run = await cli.RunAsync("catalog", "nodes");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("""
            Node       ID        Address    DC
            worker-01  1b662d97  10.4.5.31  dc1
            db                   10.0.0.9   dc1

            """.ReplaceLineEndings("\n"), run.Out);
    }

    [Fact]
    public async Task Nodes_Detailed_AddsTaggedAddressesAndMetaSorted()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/nodes", 200, Nodes);
        var run = await cli.RunAsync("catalog", "nodes", "-detailed");
        var lines = run.Out.TrimEnd('\n').Split('\n');
        Assert.Equal("Node       ID                                    Address    DC   TaggedAddresses             Meta", lines[0]);
        Assert.Equal("worker-01  1b662d97-0f5e-4c9b-8d3a-1e2f3a4b5c6d  10.4.5.31  dc1  lan=10.4.5.31, wan=1.2.3.4  env=prod, rack=r1", lines[1]);
        Assert.Equal("db                                               10.0.0.9   dc1", lines[2]);
    }

    [Fact]
    public async Task Nodes_NearNodeMetaFilterStale_SentAsConsulQuery()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/nodes", 200, Nodes);
        var run = await cli.RunAsync("catalog", "nodes", "-near=_agent", "-node-meta=rack=r1", "-node-meta", "env=prod",
            "-filter", "Meta.env == prod", "-stale", "-dc=east");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["GET /v1/catalog/nodes?dc=east&filter=Meta.env%20%3D%3D%20prod&near=_agent&node-meta=env%3Aprod&node-meta=rack%3Ar1&stale"],
            cli.Handler.Log);
    }

    [Fact]
    public async Task Nodes_FilterFromFile_ReadsExpression()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "Node == db");
        try
        {
            var cli = new CliHarness();
            cli.Handler.On("GET", "/v1/catalog/nodes", 200, Nodes);
            await cli.RunAsync("catalog", "nodes", $"-filter=@{file}");
            Assert.Equal(["GET /v1/catalog/nodes?filter=Node%20%3D%3D%20db"], cli.Handler.Log);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Nodes_UnreadableFilterFile_Exit1()
    {
        var cli = new CliHarness();
        var run = await cli.RunAsync("catalog", "nodes", "-filter=@/nonexistent/filter");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Could not process filter argument: Failed to read file: ", run.Err);
        Assert.Empty(cli.Handler.Log);
    }

    [Fact]
    public async Task Nodes_Service_ListsNodesOfTheServiceInstances()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/service/web", 200, """
            [{"ID":"aa-bb","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":{"lan":"10.0.0.1"},
              "NodeMeta":{"k":"v"},"ServiceName":"web","ServicePort":80}]
            """);
        var run = await cli.RunAsync("catalog", "nodes", "-service=web", "-detailed");
        Assert.Equal("Node  ID     Address   DC   TaggedAddresses  Meta\nn1    aa-bb  10.0.0.1  dc1  lan=10.0.0.1     k=v\n", run.Out);
        Assert.Equal(["GET /v1/catalog/service/web"], cli.Handler.Log);
    }

    [Fact]
    public async Task Nodes_NoneMatch_MessageOnStderrExit0()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/nodes", 200, "[]");
        var run = await cli.RunAsync("catalog", "nodes");
        Assert.Equal((0, "", "No nodes match the given query - try expanding your search.\n"), (run.ExitCode, run.Out, run.Err));
    }

    [Fact]
    public async Task Nodes_BadNodeMeta_FlagErrorExit1()
    {
        var cli = new CliHarness();
        var run = await cli.RunAsync("catalog", "nodes", "-node-meta=novalue");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("invalid value \"novalue\" for flag -node-meta: Missing \"=\" value in argument: novalue\n", run.Err);
        Assert.Empty(cli.Handler.Log);
    }

    [Fact]
    public async Task Nodes_AgentAnswers400_ShowsBodyExit1()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/nodes", 400, "Failed to create boolean expression evaluator\n");
        var run = await cli.RunAsync("catalog", "nodes", "-filter=bad ==");
        Assert.Equal((1, "Error listing nodes: Unexpected response code: 400 (Failed to create boolean expression evaluator)\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Nodes_ServiceAnswers500_ServiceErrorMessage()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/service/web", 500, "boom");
        var run = await cli.RunAsync("catalog", "nodes", "-service", "web");
        Assert.Equal((1, "Error listing nodes for service: Unexpected response code: 500 (boom)\n"), (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Services_SortedOnePerLine()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/services", 200, """{"web":["v2","v1"],"consul":[],"db":null}""");
        var run = await cli.RunAsync("catalog", "services", "-node-meta=env=prod");
        Assert.Equal((0, "consul\ndb\nweb\n"), (run.ExitCode, run.Out));
        Assert.Equal(["GET /v1/catalog/services?node-meta=env%3Aprod"], cli.Handler.Log);
    }

    [Fact]
    public async Task Services_Tags_TabwriterColumnWithSortedTags()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/services", 200, """{"web":["v2","v1"],"consul":[],"redis":["primary"]}""");
        var run = await cli.RunAsync("catalog", "services", "-tags");
        // Consul pads every name (padding 6) even without tags; only the end of the block is trimmed.
        Assert.Equal("consul      \nredis       primary\nweb         v1,v2\n", run.Out);
    }

    [Fact]
    public async Task Services_Node_ListsTheNodesServicesWithPooledTags()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/node/n1", 200, """
            {"Node":{"Node":"n1"},"Services":{"web-1":{"ID":"web-1","Service":"web","Tags":["b"]},
             "web-2":{"ID":"web-2","Service":"web","Tags":["a"]},"db":{"ID":"db","Service":"db","Tags":null}}}
            """);
        var run = await cli.RunAsync("catalog", "services", "-node=n1", "-tags");
        Assert.Equal("db       \nweb      a,b\n", run.Out);
        Assert.Equal(["GET /v1/catalog/node/n1"], cli.Handler.Log);
    }

    [Fact]
    public async Task Services_UnknownNode_NoneMatchExit0()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/catalog/node/ghost", 200, "null");
        var run = await cli.RunAsync("catalog", "services", "-node=ghost");
        Assert.Equal((0, "", "No services match the given query - try expanding your search.\n"), (run.ExitCode, run.Out, run.Err));
    }

    [Fact]
    public async Task Services_ConnectionRefused_ErrorExit1()
    {
        var cli = new CliHarness { UseNetwork = true };
        var port = Http.ApiClientTests.ClosedPort();
        cli.Env["MESH_HTTP_ADDR"] = $"127.0.0.1:{port}";
        var run = await cli.RunAsync("catalog", "services");
        Assert.Equal((1, $"Error listing services: Get \"http://127.0.0.1:{port}/v1/catalog/services\": dial tcp 127.0.0.1:{port}: connect: connection refused\n"),
            (run.ExitCode, run.Err));
    }

    [Fact]
    public async Task Catalog_Alone_PrintsSubcommandsExit1()
    {
        var run = await new CliHarness().RunAsync("catalog");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("    datacenters    Lists all known datacenters\n", run.Err);
        Assert.Contains("    nodes          Lists all nodes in the given datacenter\n", run.Err);
        Assert.Contains("    services       Lists all registered services in a datacenter", run.Err);
    }
}
