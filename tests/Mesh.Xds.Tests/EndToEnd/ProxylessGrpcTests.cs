using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Mesh.Xds.Tests.EndToEnd;

/// <summary>
/// A real proxyless gRPC client (@grpc/grpc-js-xds) resolving <c>xds:///whoami</c> through a real agent's xDS server
/// and calling plain grpc-js servers registered in the catalog: calls spread over instances, follow a
/// service-splitter, and leave an instance that goes critical.
/// </summary>
public sealed class ProxylessGrpcTests
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(60);

    private sealed record CallCounts(Dictionary<string, int> Ok, Dictionary<string, int> Errors)
    {
        public int Of(string instance) => Ok.GetValueOrDefault(instance);
    }

    private static async Task<CallCounts> CallAsync(NodeScript client, int calls)
    {
        await client.WriteLineAsync($"call {calls}");
        var line = await client.ReadLineAsync(LineTimeout);
        using var doc = JsonDocument.Parse(line);
        static Dictionary<string, int> Map(JsonElement e) => e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        return new CallCounts(Map(doc.RootElement.GetProperty("ok")), Map(doc.RootElement.GetProperty("errors")));
    }

    private static async Task<(AgentProcess Agent, HttpClient Http, NodeScript Servers, Dictionary<string, int> Ports)> StartMeshAsync(
        params string[] instances)
    {
        var agent = await AgentProcess.StartAsync();
        Assert.True(agent.GrpcPort > 0, "the agent announced no gRPC port\n" + agent.Output);
        var http = new HttpClient { BaseAddress = agent.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var servers = NodeScript.Start("xds", "servers.mjs", null, instances);
        var ports = JsonSerializer.Deserialize<Dictionary<string, int>>(await servers.ReadLineAsync(LineTimeout))!;
        return (agent, http, servers, ports);
    }

    private static async Task RegisterAsync(HttpClient http, string id, int port, string version)
    {
        var body = new
        {
            Name = "whoami", ID = id, Port = port, Address = "127.0.0.1",
            Meta = new Dictionary<string, string> { ["version"] = version },
            Check = new { CheckID = "ttl-" + id, TTL = "10m", Status = "passing" },
        };
        (await http.PutAsJsonAsync("/v1/agent/service/register", body)).EnsureSuccessStatusCode();
    }

    private static async Task ConfigAsync(HttpClient http, string json) =>
        (await http.PutAsync("/v1/config", new StringContent(json, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();

    private static NodeScript StartClient(AgentProcess agent) => NodeScript.Start("xds", "client.mjs", new Dictionary<string, string>
    {
        ["GRPC_XDS_BOOTSTRAP_CONFIG"] = JsonSerializer.Serialize(new
        {
            xds_servers = new[]
            {
                new { server_uri = $"127.0.0.1:{agent.GrpcPort}", channel_creds = new[] { new { type = "insecure" } }, server_features = new[] { "xds_v3" } },
            },
            node = new { id = "whoami-client-" + Guid.NewGuid().ToString("N")[..6], cluster = "whoami-client", locality = new { zone = "z1" } },
        }),
    }, "whoami");

    [Fact]
    public async Task ProxylessClient_TwoInstances_SpreadsCallsOverBoth_AndLeavesOneThatGoesCritical()
    {
        var (agent, http, servers, ports) = await StartMeshAsync("a", "b");
        await using var _ = agent;
        await using var __ = servers;
        using var ___ = http;
        await RegisterAsync(http, "whoami-a", ports["a"], "v1");
        await RegisterAsync(http, "whoami-b", ports["b"], "v1");
        await ConfigAsync(http, """{"Kind":"service-defaults","Name":"whoami","Protocol":"grpc"}""");
        await using var client = StartClient(agent);
        Assert.Contains("ready", await client.ReadLineAsync(LineTimeout));

        var spread = await CallAsync(client, 200);
        Assert.True(spread.Errors.Count == 0, "errors: " + string.Join(", ", spread.Errors) + "\n" + client.Stderr + agent.Output);
        Assert.InRange(spread.Of("a"), 60, 140);
        Assert.InRange(spread.Of("b"), 60, 140);

        (await http.PutAsync("/v1/agent/check/fail/ttl-whoami-b", null)).EnsureSuccessStatusCode();
        // The update reaches the client as an EDS change; poll until calls stop landing on b.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        CallCounts after;
        do
        {
            after = await CallAsync(client, 50);
        }
        while (after.Of("b") > 0 && DateTime.UtcNow < deadline);
        Assert.Equal(0, after.Of("b"));
        Assert.Equal(50, after.Of("a"));
    }

    [Fact]
    public async Task ProxylessClient_ServiceSplitter80To20_FollowsTheSplitWithinFivePercentOver1000Calls()
    {
        var (agent, http, servers, ports) = await StartMeshAsync("v1", "v2");
        await using var _ = agent;
        await using var __ = servers;
        using var ___ = http;
        await RegisterAsync(http, "whoami-v1", ports["v1"], "v1");
        await RegisterAsync(http, "whoami-v2", ports["v2"], "v2");
        await ConfigAsync(http, """{"Kind":"service-defaults","Name":"whoami","Protocol":"grpc"}""");
        await ConfigAsync(http, """{"Kind":"service-resolver","Name":"whoami","Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2"}}}""");
        await ConfigAsync(http, """{"Kind":"service-splitter","Name":"whoami","Splits":[{"Weight":80,"ServiceSubset":"v1"},{"Weight":20,"ServiceSubset":"v2"}]}""");
        await using var client = StartClient(agent);
        Assert.Contains("ready", await client.ReadLineAsync(LineTimeout));

        var counts = await CallAsync(client, 1000);

        Assert.True(counts.Errors.Count == 0, "errors: " + string.Join(", ", counts.Errors) + "\n" + client.Stderr);
        Assert.InRange(counts.Of("v1"), 750, 850);
        Assert.InRange(counts.Of("v2"), 150, 250);
    }
}
