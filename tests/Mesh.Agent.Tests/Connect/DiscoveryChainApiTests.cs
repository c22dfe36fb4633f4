using System.Net;
using System.Text.Json;
using Mesh.Agent.Tests.Http;

namespace Mesh.Agent.Tests.Connect;

/// <summary><c>/v1/discovery-chain/&lt;service&gt;</c> against an agent whose entries are written through <c>/v1/config</c>.</summary>
public sealed class DiscoveryChainApiTests
{
    private static async Task PutAsync(InProcessAgent agent, string entry)
    {
        using var resp = await agent.PutAsync("/v1/config", entry);
        Assert.True(resp.IsSuccessStatusCode, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_DefaultChain_ThenCanary_ShowsTheSplitAndTrustDomainSni()
    {
        await using var agent = await InProcessAgent.StartAsync();
        var td = (await agent.JsonAsync("/v1/connect/ca/roots")).GetProperty("TrustDomain").GetString();
        var plain = (await agent.JsonAsync("/v1/discovery-chain/web")).GetProperty("Chain");
        Assert.True(plain.GetProperty("Default").GetBoolean());
        Assert.Equal("resolver:web.default.dc1", plain.GetProperty("StartNode").GetString());
        Assert.Equal($"web.default.dc1.internal.{td}", plain.GetProperty("Targets").GetProperty("web.default.dc1").GetProperty("SNI").GetString());

        await PutAsync(agent, """{"Kind":"service-defaults","Name":"web","Protocol":"http"}""");
        await PutAsync(agent, """{"Kind":"service-resolver","Name":"web","Subsets":{"v1":{"Filter":"Service.Meta.version == v1"},"v2":{"Filter":"Service.Meta.version == v2"}}}""");
        await PutAsync(agent, """{"Kind":"service-splitter","Name":"web","Splits":[{"Weight":90,"ServiceSubset":"v1"},{"Weight":10,"ServiceSubset":"v2"}]}""");
        var canary = (await agent.JsonAsync("/v1/discovery-chain/web")).GetProperty("Chain");
        Assert.Equal("http", canary.GetProperty("Protocol").GetString());
        Assert.Equal("splitter:web", canary.GetProperty("StartNode").GetString());
        var splits = canary.GetProperty("Nodes").GetProperty("splitter:web").GetProperty("Splits").EnumerateArray().ToList();
        Assert.Equal([90.0, 10.0], splits.Select(s => s.GetProperty("Weight").GetDouble()));
        Assert.Equal("resolver:v2.web.default.dc1", splits[1].GetProperty("NextNode").GetString());
    }

    [Fact]
    public async Task Post_Overrides_ProtocolAndTimeout()
    {
        await using var agent = await InProcessAgent.StartAsync();
        await PutAsync(agent, """{"Kind":"service-defaults","Name":"web","Protocol":"http"}""");
        using var resp = await agent.SendAsync(HttpMethod.Post, "/v1/discovery-chain/web", """{"OverrideProtocol":"tcp","OverrideConnectTimeout":"7s"}""");
        var chain = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.GetProperty("Chain");
        Assert.Equal("tcp", chain.GetProperty("Protocol").GetString());
        Assert.Equal("7s", chain.GetProperty("Targets").GetProperty("web.default.dc1").GetProperty("ConnectTimeout").GetString());
        using var bad = await agent.SendAsync(HttpMethod.Post, "/v1/discovery-chain/web", """{"OverrideProtocol":"ftp"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Blocking_ReturnsWhenAnEntryChanges()
    {
        await using var agent = await InProcessAgent.StartAsync();
        using var first = await agent.GetAsync("/v1/discovery-chain/api");
        var index = InProcessAgent.Index(first);
        // Had it not blocked, it would answer with the same index, which the assertion below refuses.
        var waiting = agent.GetAsync($"/v1/discovery-chain/api?index={index}&wait=30s");
        await PutAsync(agent, """{"Kind":"service-resolver","Name":"api","ConnectTimeout":"9s"}""");
        using var changed = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(InProcessAgent.Index(changed) > index);
        var chain = JsonDocument.Parse(await changed.Content.ReadAsStringAsync()).RootElement.GetProperty("Chain");
        Assert.Equal("9s", chain.GetProperty("Nodes").GetProperty("resolver:api.default.dc1").GetProperty("Resolver").GetProperty("ConnectTimeout").GetString());
    }
}
