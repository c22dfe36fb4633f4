using System.Collections.Immutable;
using System.Text.Json;
using Mesh.Agent.Tests.Http;

namespace Mesh.Agent.Tests.Dns;

/// <summary><c>&lt;query&gt;.query.&lt;domain&gt;</c>: prepared queries answered over DNS, by name, ID and template.</summary>
public sealed class DnsPreparedQueryTests : IAsyncLifetime
{
    private InProcessAgent _agent = null!;

    private System.Net.IPEndPoint Dns => _agent.Host.DnsEndpoints[0];

    public async Task InitializeAsync()
    {
        _agent = await DnsAgentFixture.StartAgentAsync(d => d with
        {
            ServiceTtl = ImmutableDictionary<string, TimeSpan>.Empty.Add("web", TimeSpan.FromSeconds(4)),
        });
        await DnsAgentFixture.RegisterAsync(_agent, "web-a", "10.0.1.1", """{"Service":"web","ID":"web1","Port":8001,"Tags":["v1"]}""", "passing");
        await DnsAgentFixture.RegisterAsync(_agent, "web-b", "10.0.1.2", """{"Service":"web","ID":"web2","Port":8002,"Tags":["v2"]}""", "passing");
        await DnsAgentFixture.RegisterAsync(_agent, "web-c", "10.0.1.3", """{"Service":"web","ID":"web3","Port":8003,"Tags":["v2"]}""", "critical");
    }

    public async Task DisposeAsync() => await _agent.DisposeAsync();

    private async Task<string> CreateAsync(string body)
    {
        using var resp = await _agent.SendAsync(HttpMethod.Post, "/v1/query", body);
        var text = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("ID").GetString()!;
    }

    private static string[] Data(IEnumerable<DigRecord> records) => records.Select(r => r.Data).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public async Task ByNameAndId_FiltersByTags_UsesTheQueryTtl()
    {
        var id = await CreateAsync("""{"Name":"v2web","Service":{"Service":"web","Tags":["v2"]},"DNS":{"TTL":"9s"}}""");
        var a = await Dig.QueryAsync(Dns, "v2web.query.consul", "A");
        Assert.Equal(("10.0.1.2", 9u), (Assert.Single(a.Answer).Data, a.Answer[0].Ttl));
        Assert.Equal(["10.0.1.2"], Data((await Dig.QueryAsync(Dns, $"{id}.query.consul", "A")).Answer));
        var srv = await Dig.QueryAsync(Dns, "_v2web._tcp.query.dc1.consul", "SRV", "+tcp");
        Assert.Equal(["1 1 8002 web-b.node.dc1.consul."], Data(srv.AnswersOf("SRV")));
    }

    [Fact]
    public async Task WithoutQueryTtl_ServiceTtlApplies_NegatedTag()
    {
        await CreateAsync("""{"Name":"notv2","Service":{"Service":"web","Tags":["!v2"]}}""");
        var a = await Dig.QueryAsync(Dns, "notv2.query.consul", "A");
        Assert.Equal(("10.0.1.1", 4u), (Assert.Single(a.Answer).Data, a.Answer[0].Ttl));
    }

    [Fact]
    public async Task Templates_PrefixAndRegexp()
    {
        await CreateAsync("""{"Name":"geo-","Template":{"Type":"name_prefix_match"},"Service":{"Service":"${name.suffix}"}}""");
        Assert.Equal(["10.0.1.1", "10.0.1.2"], Data((await Dig.QueryAsync(Dns, "geo-web.query.consul", "A")).Answer));
        await CreateAsync("""{"Name":"tag-","Template":{"Type":"name_prefix_match","Regexp":"^tag-([a-z0-9]+)-(.+)$"},"Service":{"Service":"${match(2)}","Tags":["${match(1)}"]}}""");
        Assert.Equal(["10.0.1.1"], Data((await Dig.QueryAsync(Dns, "tag-v1-web.query.consul", "A")).Answer));
    }

    [Fact]
    public async Task UnknownQuery_OrNoHealthyInstance_Nxdomain()
    {
        Assert.Equal("NXDOMAIN", (await Dig.QueryAsync(Dns, "nosuch.query.consul", "A")).Status);
        await CreateAsync("""{"Name":"empty","Service":{"Service":"web","Tags":["v3"]}}""");
        Assert.Equal("NXDOMAIN", (await Dig.QueryAsync(Dns, "empty.query.consul", "A")).Status);
        Assert.Equal("NXDOMAIN", (await Dig.QueryAsync(Dns, "empty.query.dc2.consul", "A")).Status);
    }

    [Fact]
    public async Task QueryUpdate_ChangesTheNextAnswer()
    {
        var id = await CreateAsync("""{"Name":"moving","Service":{"Service":"web","Tags":["v1"]}}""");
        Assert.Equal(["10.0.1.1"], Data((await Dig.QueryAsync(Dns, "moving.query.consul", "A")).Answer));
        using var resp = await _agent.PutAsync($"/v1/query/{id}", """{"Name":"moving","Service":{"Service":"web","Tags":["v2"]}}""");
        Assert.True(resp.IsSuccessStatusCode, await resp.Content.ReadAsStringAsync());
        Assert.Equal(["10.0.1.2"], Data((await Dig.QueryAsync(Dns, "moving.query.consul", "A")).Answer));
    }

    [Fact]
    public async Task NearAgent_ThisAgentsInstanceAlwaysFirst()
    {
        var node = _agent.Host.Identity.NodeName;
        // The agent's own node is kept in step with its local services by anti-entropy: register through the agent.
        using (var reg = await _agent.PutAsync("/v1/agent/service/register", """{"Name":"web","ID":"web-local","Port":8009}"""))
            Assert.True(reg.IsSuccessStatusCode);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await _agent.JsonAsync("/v1/catalog/service/web")).GetArrayLength() < 4)
        {
            Assert.True(DateTime.UtcNow < deadline, "anti-entropy did not sync the agent's service");
            await Task.Delay(20);
        }
        await CreateAsync("""{"Name":"nearby","Service":{"Service":"web","Near":"_agent"}}""");
        for (var i = 0; i < 8; i++)
        {
            var srv = await Dig.QueryAsync(Dns, "nearby.query.consul", "SRV", "+tcp");
            Assert.Equal(3, srv.AnswersOf("SRV").Count());
            Assert.Equal($"1 1 8009 {node}.node.dc1.consul.", srv.AnswersOf("SRV").First().Data);
        }
    }
}
