using System.Collections.Immutable;
using System.Net;
using Mesh.Agent.Config;
using Mesh.Agent.Tests.Http;

namespace Mesh.Agent.Tests.Dns;

/// <summary>
/// A dev agent with DNS on a free port and a catalog covering every DNS form: healthy, warning and critical instances,
/// a service with its own address, a host-name node, an IPv6 node, node metadata, a Connect proxy, a mixed-case
/// service, and per-service TTLs. Shared by the read-only tests of <see cref="DnsFormsTests"/>.
/// </summary>
public sealed class DnsAgentFixture : IAsyncLifetime
{
    internal InProcessAgent Agent { get; private set; } = null!;

    internal IPEndPoint Dns => Agent.Host.DnsEndpoints[0];

    internal string NodeName => Agent.Host.Identity.NodeName;

    public async Task InitializeAsync()
    {
        Agent = await StartAgentAsync(dns => dns with
        {
            AltDomain = "alt.test",
            NodeTtl = TimeSpan.FromSeconds(11),
            ServiceTtl = ImmutableDictionary<string, TimeSpan>.Empty.Add("web", TimeSpan.FromSeconds(7)).Add("db*", TimeSpan.FromSeconds(3)),
        });
        await RegisterAsync(Agent, "web-a", "10.0.1.1", """{"Service":"web","ID":"web1","Port":8001,"Tags":["v1","primary"]}""", "passing");
        await RegisterAsync(Agent, "web-b", "10.0.1.2", """{"Service":"web","ID":"web2","Port":8002,"Tags":["v2"]}""", "warning");
        await RegisterAsync(Agent, "web-c", "10.0.1.3", """{"Service":"web","ID":"web3","Port":8003}""", "critical");
        await RegisterAsync(Agent, "web-d", "10.0.1.4", """{"Service":"web","ID":"web4","Port":8004,"Address":"10.5.5.5"}""", "passing");
        await RegisterAsync(Agent, "ext", "ext.example.com", """{"Service":"legacy","Port":80}""", null);
        await RegisterAsync(Agent, "v6node", "2001:db8::1", """{"Service":"ipv6svc","Port":9000}""", null);
        await RegisterAsync(Agent, "web-a", "10.0.1.1", """{"Service":"api","ID":"api1","Port":7001}""", null);
        await RegisterAsync(Agent, "web-a", "10.0.1.1",
            """{"Service":"api-sidecar-proxy","ID":"api1-proxy","Kind":"connect-proxy","Port":21000,"Proxy":{"DestinationServiceName":"api","DestinationServiceID":"api1"}}""", null);
        await RegisterAsync(Agent, "web-a", "10.0.1.1", """{"Service":"CamelSvc","ID":"camel1","Port":7000}""", null);
        await RegisterAsync(Agent, "db-1", "10.0.3.1", """{"Service":"dbmain","Port":5432}""", null);
        using var meta = await Agent.PutAsync("/v1/catalog/register",
            """{"Node":"Meta-Node","Address":"10.0.2.1","NodeMeta":{"rack":"r1","rfc1035-raw":"x=y"}}""");
        Assert.True(meta.IsSuccessStatusCode);
    }

    public async Task DisposeAsync() => await Agent.DisposeAsync();

    /// <summary>An agent with DNS on a free port and the given DNS settings.</summary>
    internal static Task<InProcessAgent> StartAgentAsync(Func<DnsConfig, DnsConfig>? dns = null, string domain = "consul.") =>
        InProcessAgent.StartAsync(c => c with
        {
            Ports = c.Ports with { Dns = 0 },
            Domain = domain,
            Dns = dns?.Invoke(c.Dns) ?? c.Dns,
        });

    /// <summary>Registers a node, optionally a service on it, and optionally a check of that service with a status.</summary>
    internal static async Task RegisterAsync(InProcessAgent agent, string node, string address, string? service, string? status)
    {
        var serviceJson = service is null ? "" : $",\"Service\":{service}";
        var id = service is null ? "" : System.Text.Json.JsonDocument.Parse(service).RootElement is var s && s.TryGetProperty("ID", out var i)
            ? i.GetString()! : s.GetProperty("Service").GetString()!;
        var check = status is null ? "" : $",\"Check\":{{\"CheckID\":\"chk-{id}\",\"Name\":\"probe\",\"ServiceID\":\"{id}\",\"Status\":\"{status}\"}}";
        using var resp = await agent.PutAsync("/v1/catalog/register", $"{{\"Node\":\"{node}\",\"Address\":\"{address}\"{serviceJson}{check}}}");
        Assert.True(resp.IsSuccessStatusCode, await resp.Content.ReadAsStringAsync());
    }
}
