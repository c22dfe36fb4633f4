using Mesh.Agent.Tests.Http;

namespace Mesh.Agent.Tests.Dns;

/// <summary>DNS settings and catalog changes, each on an agent of its own.</summary>
public sealed class DnsBehaviourTests
{
    private static async Task<InProcessAgent> WithManyAsync(Func<Mesh.Agent.Config.DnsConfig, Mesh.Agent.Config.DnsConfig>? dns, int instances)
    {
        var agent = await DnsAgentFixture.StartAgentAsync(dns);
        for (var i = 0; i < instances; i++)
            await DnsAgentFixture.RegisterAsync(agent, $"many-{i}", $"10.7.0.{i + 1}", $$"""{"Service":"many","ID":"many{{i}}","Port":{{9000 + i}}}""", "passing");
        return agent;
    }

    [Fact]
    public async Task CatalogChange_ShowsInTheNextAnswer()
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync();
        var dns = agent.Host.DnsEndpoints[0];
        Assert.Equal("NXDOMAIN", (await Dig.QueryAsync(dns, "late.service.consul", "A")).Status);
        await DnsAgentFixture.RegisterAsync(agent, "late-1", "10.6.0.1", """{"Service":"late","ID":"late1","Port":1}""", "passing");
        Assert.Equal("10.6.0.1", Assert.Single((await Dig.QueryAsync(dns, "late.service.consul", "A")).Answer).Data);
        // The same question again after the check turns critical: the cached answer must not survive the change.
        await DnsAgentFixture.RegisterAsync(agent, "late-1", "10.6.0.1", """{"Service":"late","ID":"late1","Port":1}""", "critical");
        Assert.Equal("NXDOMAIN", (await Dig.QueryAsync(dns, "late.service.consul", "A")).Status);
    }

    [Fact]
    public async Task OnlyPassing_LeavesWarningOut()
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync(d => d with { OnlyPassing = true });
        await DnsAgentFixture.RegisterAsync(agent, "p-1", "10.6.1.1", """{"Service":"p","ID":"p1","Port":1}""", "passing");
        await DnsAgentFixture.RegisterAsync(agent, "p-2", "10.6.1.2", """{"Service":"p","ID":"p2","Port":1}""", "warning");
        var a = await Dig.QueryAsync(agent.Host.DnsEndpoints[0], "p.service.consul", "A");
        Assert.Equal("10.6.1.1", Assert.Single(a.Answer).Data);
    }

    [Fact]
    public async Task Udp_WithoutEdns_CutToUdpAnswerLimit_NoTcByDefault_TcpHasAll()
    {
        await using var agent = await WithManyAsync(null, 20);
        var dns = agent.Host.DnsEndpoints[0];
        var udp = await Dig.QueryAsync(dns, "many.service.consul", "A", "+noedns", "+ignore");
        Assert.Equal(3, udp.Answer.Count);
        Assert.DoesNotContain("tc", udp.Flags);
        var tcp = await Dig.QueryAsync(dns, "many.service.consul", "A", "+tcp");
        Assert.Equal(20, tcp.Answer.Count);
    }

    [Fact]
    public async Task EnableTruncate_SetsTc_AndDigRetriesOverTcpForTheFullAnswer()
    {
        await using var agent = await WithManyAsync(d => d with { EnableTruncate = true, UdpAnswerLimit = 5 }, 20);
        var dns = agent.Host.DnsEndpoints[0];
        var cut = await Dig.QueryAsync(dns, "many.service.consul", "SRV", "+noedns", "+ignore");
        Assert.Contains("tc", cut.Flags);
        Assert.Equal(5, cut.AnswersOf("SRV").Count());
        // Every SRV kept has its target's address; none of the dropped ones do.
        var targets = cut.AnswersOf("SRV").Select(r => r.Data.Split(' ')[3]).ToHashSet();
        Assert.Equal(targets, cut.Additional.Where(r => r.Type == "A").Select(r => r.Name).ToHashSet());
        var retried = await Dig.QueryAsync(dns, "many.service.consul", "SRV", "+noedns");
        Assert.Equal(20, retried.AnswersOf("SRV").Count());
    }

    [Fact]
    public async Task Edns_LargeBuffer_Everything_SmallBuffer_CutBySize()
    {
        await using var agent = await WithManyAsync(d => d with { EnableTruncate = true }, 40);
        var dns = agent.Host.DnsEndpoints[0];
        var big = await Dig.QueryAsync(dns, "many.service.consul", "SRV", "+bufsize=4096", "+ignore");
        Assert.Equal(40, big.AnswersOf("SRV").Count());
        Assert.DoesNotContain("tc", big.Flags);
        var small = await Dig.QueryAsync(dns, "many.service.consul", "SRV", "+bufsize=1232", "+ignore");
        Assert.Contains("tc", small.Flags);
        var n = small.AnswersOf("SRV").Count();
        Assert.InRange(n, 4, 39);
    }

    [Fact]
    public async Task ARecordLimit_CapsAddressAnswersOnEveryTransport()
    {
        await using var agent = await WithManyAsync(d => d with { ARecordLimit = 2 }, 6);
        var dns = agent.Host.DnsEndpoints[0];
        Assert.Equal(2, (await Dig.QueryAsync(dns, "many.service.consul", "A", "+tcp")).Answer.Count);
        Assert.Equal(6, (await Dig.QueryAsync(dns, "many.service.consul", "SRV", "+tcp")).AnswersOf("SRV").Count());
    }

    [Fact]
    public async Task AddressesThatNameThemselves_AnsweredWithoutLooping()
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync();
        var dns = agent.Host.DnsEndpoints[0];
        // A service whose address is its own DNS name, two that name each other, and one named the bare domain.
        await DnsAgentFixture.RegisterAsync(agent, "loop-1", "10.3.0.1", """{"Service":"selfref","Address":"selfref.service.consul","Port":1}""", null);
        await DnsAgentFixture.RegisterAsync(agent, "loop-2", "10.3.0.2", """{"Service":"ping","Address":"pong.service.consul","Port":1}""", null);
        await DnsAgentFixture.RegisterAsync(agent, "loop-3", "10.3.0.3", """{"Service":"pong","Address":"ping.service.consul","Port":1}""", null);
        await DnsAgentFixture.RegisterAsync(agent, "loop-4", "10.3.0.4", """{"Service":"bare","Address":"consul","Port":1}""", null);
        foreach (var name in new[] { "selfref", "ping", "bare" })
        {
            var a = await Dig.QueryAsync(dns, $"{name}.service.consul", "A");
            Assert.Equal("NOERROR", a.Status);
            Assert.Contains(a.Answer, r => r.Type is "CNAME" or "A");
        }
        Assert.Equal("NOERROR", (await Dig.QueryAsync(dns, "ping.service.consul", "SRV", "+tcp")).Status);
    }

    [Fact]
    public async Task ARecordLimit_IsNotTruncation_NoTcEvenWithEnableTruncate()
    {
        await using var agent = await WithManyAsync(d => d with { ARecordLimit = 2, EnableTruncate = true }, 5);
        var dns = agent.Host.DnsEndpoints[0];
        var udp = await Dig.QueryAsync(dns, "many.service.consul", "A", "+ignore");
        Assert.Equal(2, udp.Answer.Count);
        Assert.DoesNotContain("tc", udp.Flags);
        var tcp = await Dig.QueryAsync(dns, "many.service.consul", "A", "+tcp");
        Assert.DoesNotContain("tc", tcp.Flags);
    }

    [Fact]
    public async Task HugeEdnsBuffer_AnswerStillFitsOneDatagram()
    {
        await using var agent = await WithManyAsync(null, 3);
        var a = await Dig.QueryAsync(agent.Host.DnsEndpoints[0], "many.service.consul", "SRV", "+bufsize=65535", "+ignore");
        Assert.Equal(3, a.AnswersOf("SRV").Count());
    }

    [Fact]
    public async Task Answers_AreShuffled()
    {
        await using var agent = await WithManyAsync(null, 8);
        var dns = agent.Host.DnsEndpoints[0];
        var orders = new HashSet<string>();
        for (var i = 0; i < 12 && orders.Count < 2; i++)
            orders.Add(string.Join(',', (await Dig.QueryAsync(dns, "many.service.consul", "A", "+tcp")).Answer.Select(r => r.Data)));
        // 8 answers have 40,320 orders; twelve identical draws in a row would mean no shuffling at all.
        Assert.True(orders.Count >= 2, "every answer came back in the same order");
    }

    [Fact]
    public async Task Domain_Custom_IsServed_AndConsulIsNot()
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync(domain: "mesh.internal");
        var dns = agent.Host.DnsEndpoints[0];
        var node = agent.Host.Identity.NodeName;
        Assert.Equal("127.0.0.1", Assert.Single((await Dig.QueryAsync(dns, $"{node}.node.mesh.internal", "A")).Answer).Data);
        Assert.Equal("REFUSED", (await Dig.QueryAsync(dns, $"{node}.node.consul", "A")).Status);
    }
}
