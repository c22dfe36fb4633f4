using System.Text;
using System.Text.Json;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.EndToEnd;

/// <summary><c>catalog</c> and catalog watches against a real agent, with data put in through <c>/v1/catalog/register</c>.</summary>
[Collection(AgentCollection.Name)]
public sealed class CatalogEndToEndTests(AgentFixture fixture)
{
    private readonly AgentProcess _agent = fixture.Agent;

    /// <summary>Unique node and service names per test, so tests sharing the agent do not see each other's data.</summary>
    private readonly string _ns = "e2e-" + Guid.NewGuid().ToString("N")[..8];

    private CliHarness Cli()
    {
        var cli = new CliHarness { UseNetwork = true };
        cli.Env["MESH_HTTP_ADDR"] = _agent.HostPort;
        return cli;
    }

    private async Task RegisterAsync(string json)
    {
        using var http = new HttpClient { BaseAddress = _agent.BaseAddress };
        using var response = await http.PutAsync("/v1/catalog/register", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Catalog_NodesAndServices_AgainstRealAgent()
    {
        var node = _ns + "-node";
        await RegisterAsync($$$"""
            {"Node":"{{{node}}}","ID":"4c6c2f7a-1111-2222-3333-444455556666","Address":"10.9.0.1",
             "TaggedAddresses":{"wan":"198.51.100.1"},"NodeMeta":{"suite":"{{{_ns}}}","rack":"r7"},
             "Service":{"ID":"{{{_ns}}}-web-1","Service":"{{{_ns}}}-web","Tags":["v2","v1"],"Port":8080}}
            """);
        await RegisterAsync($$$"""
            {"Node":"{{{node}}}","ID":"4c6c2f7a-1111-2222-3333-444455556666","Address":"10.9.0.1",
             "TaggedAddresses":{"wan":"198.51.100.1"},"NodeMeta":{"suite":"{{{_ns}}}","rack":"r7"},
             "Service":{"ID":"{{{_ns}}}-db","Service":"{{{_ns}}}-db","Port":5432}}
            """);

        var nodes = await Cli().RunAsync("catalog", "nodes", $"-node-meta=suite={_ns}");
        Assert.Equal((0, ""), (nodes.ExitCode, nodes.Err));
        var lines = nodes.Out.TrimEnd('\n').Split('\n');
        Assert.Matches(@"^Node\s+ID\s+Address\s+DC$", lines[0]);
        Assert.Matches($@"^{node}\s+4c6c2f7a\s+10\.9\.0\.1\s+\S+$", Assert.Single(lines[1..]));

        var detailed = await Cli().RunAsync("catalog", "nodes", "-detailed", $"-service={_ns}-web");
        Assert.Equal(0, detailed.ExitCode);
        Assert.Matches(@"^Node\s+ID\s+Address\s+DC\s+TaggedAddresses\s+Meta\n", detailed.Out);
        Assert.Contains("4c6c2f7a-1111-2222-3333-444455556666  10.9.0.1", detailed.Out);
        Assert.Contains($"rack=r7, suite={_ns}\n", detailed.Out);

        var none = await Cli().RunAsync("catalog", "nodes", "-node-meta=suite=nobody");
        Assert.Equal((0, "", "No nodes match the given query - try expanding your search.\n"), (none.ExitCode, none.Out, none.Err));

        var onNode = await Cli().RunAsync("catalog", "services", $"-node={node}", "-tags");
        Assert.Equal((0, $"{_ns}-db       \n{_ns}-web      v1,v2\n"), (onNode.ExitCode, onNode.Out));

        // The agent's /v1/catalog/services does not apply ?node-meta yet, so other tests' services may be listed too.
        var all = await Cli().RunAsync("catalog", "services");
        Assert.Equal(0, all.ExitCode);
        var names = all.Out.TrimEnd('\n').Split('\n');
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Contains($"{_ns}-db", names);
        Assert.Contains($"{_ns}-web", names);

        var dcs = await Cli().RunAsync("catalog", "datacenters");
        Assert.Equal(0, dcs.ExitCode);
        Assert.Matches(@"^\S+\n", dcs.Out);
    }

    [Fact]
    public async Task Catalog_BadFilter_ShowsAgentsAnswer()
    {
        var run = await Cli().RunAsync("catalog", "nodes", "-filter=Node ==");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Error listing nodes: Unexpected response code: 400 (", run.Err);
    }

    [Fact]
    public async Task Watch_ServiceWithHandler_FiresOnStartAndWhenAnInstanceIsAdded()
    {
        var service = _ns + "-api";
        await RegisterAsync($$$"""{"Node":"{{{_ns}}}-a","Address":"10.9.1.1","Service":{"ID":"{{{service}}}-1","Service":"{{{service}}}","Port":1}}""");
        var cli = Cli();
        using var cts = new CancellationTokenSource();
        var running = cli.RunAsync(cts.Token, "watch", "-type=service", $"-service={service}", "cat");
        await Eventually.TrueAsync(() => cli.OutSoFar.Contains('\n'), "the first handler run");

        await RegisterAsync($$$"""{"Node":"{{{_ns}}}-b","Address":"10.9.1.2","Service":{"ID":"{{{service}}}-2","Service":"{{{service}}}","Port":2}}""");
        await Eventually.TrueAsync(() => cli.OutSoFar.Count(c => c == '\n') >= 2, "the handler run for the new instance");
        await cts.CancelAsync();
        var run = await running;
        Assert.Equal(0, run.ExitCode);

        static string[] Ids(string json) => JsonDocument.Parse(json).RootElement.EnumerateArray()
            .Select(e => e.GetProperty("Service").GetProperty("ID").GetString()!).Order(StringComparer.Ordinal).ToArray();
        var lines = run.Out.TrimEnd('\n').Split('\n');
        Assert.Equal([$"{service}-1"], Ids(lines[0]));
        Assert.Equal([$"{service}-1", $"{service}-2"], Ids(lines[1]));
    }

    [Fact]
    public async Task Watch_ServiceWithoutHandler_PrintsHealthEntries()
    {
        var service = _ns + "-once";
        await RegisterAsync($$$"""{"Node":"{{{_ns}}}-c","Address":"10.9.2.1","Service":{"ID":"{{{service}}}-1","Service":"{{{service}}}","Tags":["blue"],"Port":3}}""");
        var run = await Cli().RunAsync("watch", "-type=service", $"-service={service}", "-tag=blue");
        Assert.Equal(0, run.ExitCode);
        using var doc = JsonDocument.Parse(run.Out);
        var entry = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal($"{_ns}-c", entry.GetProperty("Node").GetProperty("Node").GetString());
        Assert.Contains("\n    {\n        \"Node\": {", run.Out);
    }
}
