namespace Mesh.Agent.Tests.Dns;

/// <summary>Every Consul DNS form, asked with dig over UDP and TCP, against the catalog of <see cref="DnsAgentFixture"/>.</summary>
public sealed class DnsFormsTests(DnsAgentFixture f) : IClassFixture<DnsAgentFixture>
{
    private Task<DigAnswer> Ask(string name, string type, params string[] options) => Dig.QueryAsync(f.Dns, name, type, options);

    private static string[] Data(IEnumerable<DigRecord> records) => records.Select(r => r.Data).Order(StringComparer.Ordinal).ToArray();

    [Theory]
    [InlineData("+notcp")]
    [InlineData("+tcp")]
    public async Task ServiceA_HealthyAndWarningInstances_CriticalLeftOut(string transport)
    {
        var a = await Ask("web.service.consul", "A", transport);
        Assert.Equal("NOERROR", a.Status);
        Assert.Contains("aa", a.Flags);
        Assert.Equal(["10.0.1.1", "10.0.1.2", "10.5.5.5"], Data(a.AnswersOf("A")));
        Assert.All(a.Answer, r => Assert.Equal(7u, r.Ttl));
        Assert.All(a.Answer, r => Assert.Equal("web.service.consul.", r.Name));
    }

    [Theory]
    [InlineData("+notcp")]
    [InlineData("+tcp")]
    public async Task ServiceSrv_TargetsNodeNamesOrAddrNames_WithAddressesInAdditional(string transport)
    {
        var a = await Ask("web.service.consul", "SRV", transport);
        Assert.Equal("NOERROR", a.Status);
        Assert.Equal(["1 1 8001 web-a.node.dc1.consul.", "1 1 8002 web-b.node.dc1.consul.", "1 1 8004 0a050505.addr.dc1.consul."],
            Data(a.AnswersOf("SRV")));
        Assert.Contains(a.Additional, r => r is { Name: "web-a.node.dc1.consul.", Type: "A", Data: "10.0.1.1" });
        Assert.Contains(a.Additional, r => r is { Name: "web-b.node.dc1.consul.", Type: "A", Data: "10.0.1.2" });
        Assert.Contains(a.Additional, r => r is { Name: "0a050505.addr.dc1.consul.", Type: "A", Data: "10.5.5.5" });
    }

    [Fact]
    public async Task TagForm_FiltersByTag()
    {
        var a = await Ask("v1.web.service.consul", "A");
        Assert.Equal(["10.0.1.1"], Data(a.Answer));
        var none = await Ask("nosuchtag.web.service.consul", "A");
        Assert.Equal("NXDOMAIN", none.Status);
    }

    [Theory]
    [InlineData("_web._v2.service.consul", new[] { "1 1 8002 web-b.node.dc1.consul." })]
    [InlineData("_web._tcp.service.consul", new[] { "1 1 8001 web-a.node.dc1.consul.", "1 1 8002 web-b.node.dc1.consul.", "1 1 8004 0a050505.addr.dc1.consul." })]
    [InlineData("_web._tcp.consul", new[] { "1 1 8001 web-a.node.dc1.consul.", "1 1 8002 web-b.node.dc1.consul.", "1 1 8004 0a050505.addr.dc1.consul." })]
    [InlineData("_web._v1.service.dc1.consul", new[] { "1 1 8001 web-a.node.dc1.consul." })]
    public async Task Rfc2782Form_TagOrTcp(string name, string[] expected)
    {
        var a = await Ask(name, "SRV");
        Assert.Equal(expected, Data(a.AnswersOf("SRV")));
    }

    [Fact]
    public async Task Datacenter_OwnAnswers_OtherIsNxdomainWithSoa()
    {
        Assert.Equal(["10.0.1.1"], Data((await Ask("web-a.node.dc1.consul", "A")).Answer));
        Assert.Equal(3, (await Ask("web.service.dc1.consul", "A")).Answer.Count);
        Assert.Equal(["10.0.1.1"], Data((await Ask("web-a.node.dc1.dc.consul", "A")).Answer));
        Assert.Equal("NXDOMAIN", (await Ask("web-a.node.other.peer.consul", "A")).Status);
        var other = await Ask("web.service.dc2.consul", "A");
        Assert.Equal("NXDOMAIN", other.Status);
        Assert.Contains(other.Authority, r => r is { Name: "consul.", Type: "SOA" });
    }

    [Fact]
    public async Task NodeA_AnswersAddressWithNodeTtl()
    {
        var a = await Ask("web-a.node.consul", "A");
        Assert.Equal("NOERROR", a.Status);
        var rr = Assert.Single(a.Answer);
        Assert.Equal(("A", "10.0.1.1", 11u), (rr.Type, rr.Data, rr.Ttl));
    }

    [Fact]
    public async Task NodeTxt_MetadataAsRfc1464_Rfc1035PrefixRaw_NameCaseInsensitive()
    {
        var txt = await Ask("meta-node.node.consul", "TXT");
        Assert.Equal(["\"rack=r1\"", "\"x=y\""], Data(txt.AnswersOf("TXT")));
        var a = await Ask("META-NODE.node.consul", "A");
        Assert.Equal(["10.0.2.1"], Data(a.AnswersOf("A")));
        Assert.Equal("META-NODE.node.consul.", a.Answer[0].Name);
        Assert.Contains(a.Additional, r => r is { Type: "TXT", Data: "\"rack=r1\"" });
    }

    [Fact]
    public async Task NodeUnknown_NxdomainWithSoa()
    {
        var a = await Ask("nobody.node.consul", "A");
        Assert.Equal("NXDOMAIN", a.Status);
        var soa = Assert.Single(a.Authority);
        Assert.Equal("SOA", soa.Type);
        Assert.StartsWith("ns.consul. hostmaster.consul. ", soa.Data);
        Assert.EndsWith(" 3600 600 86400 0", soa.Data);
    }

    [Fact]
    public async Task NodeIpv6_AaaaAnswered_AIsEmptyNoerror()
    {
        Assert.Equal(["2001:db8::1"], Data((await Ask("v6node.node.consul", "AAAA")).Answer));
        var a = await Ask("v6node.node.consul", "A");
        Assert.Equal("NOERROR", a.Status);
        Assert.Empty(a.AnswersOf("A"));
        Assert.Equal(["2001:db8::1"], Data((await Ask("ipv6svc.service.consul", "AAAA")).AnswersOf("AAAA")));
    }

    [Fact]
    public async Task Connect_AnswersTheProxies()
    {
        var a = await Ask("api.connect.consul", "SRV");
        Assert.Equal(["1 1 21000 web-a.node.dc1.consul."], Data(a.AnswersOf("SRV")));
        Assert.Equal("NXDOMAIN", (await Ask("web.connect.consul", "SRV")).Status);
    }

    [Fact]
    public async Task HostnameAddress_ACnames_SrvTargetsTheHost()
    {
        var a = await Ask("legacy.service.consul", "A");
        Assert.Contains(a.Answer, r => r is { Type: "CNAME", Data: "ext.example.com." });
        var srv = await Ask("legacy.service.consul", "SRV");
        Assert.Equal(["1 1 80 ext.example.com."], Data(srv.AnswersOf("SRV")));
    }

    [Fact]
    public async Task QuestionCase_IsEchoed_AndServiceNamesMatchAnyCase()
    {
        var a = await Ask("WEB.Service.CONSUL", "A");
        Assert.Equal(3, a.Answer.Count);
        Assert.All(a.Answer, r => Assert.Equal("WEB.Service.CONSUL.", r.Name));
        Assert.Equal(["10.0.1.1"], Data((await Ask("camelsvc.service.consul", "A")).Answer));
    }

    [Theory]
    [InlineData("0a000101.addr.dc1.consul", "A", "10.0.1.1")]
    [InlineData("20010db8000000000000000000000001.addr.dc1.consul", "AAAA", "2001:db8::1")]
    public async Task AddrForm_DecodesHex(string name, string type, string expected)
    {
        var a = await Ask(name, type);
        Assert.Equal([expected], Data(a.Answer));
        Assert.Equal("NXDOMAIN", (await Ask("0a0001.addr.dc1.consul", "A")).Status);
    }

    [Fact]
    public async Task Ptr_NodeAddress_ServiceAddress_Unknown()
    {
        Assert.Equal(["web-b.node.dc1.consul."], Data((await Ask("2.1.0.10.in-addr.arpa", "PTR")).Answer));
        Assert.Equal(["web.service.dc1.consul."], Data((await Ask("5.5.5.10.in-addr.arpa", "PTR")).Answer));
        Assert.Equal(["v6node.node.dc1.consul."],
            Data((await Ask("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR")).Answer));
        Assert.Equal("NXDOMAIN", (await Ask("99.2.0.192.in-addr.arpa", "PTR")).Status);
    }

    [Fact]
    public async Task SoaAndNs_ForTheDomain_NameThisServerWithGlue()
    {
        var soa = await Ask("consul", "SOA");
        Assert.Equal("SOA", Assert.Single(soa.Answer).Type);
        var ns = await Ask("consul", "NS");
        var server = $"{f.NodeName}.node.dc1.consul.";
        Assert.Equal([server], Data(ns.AnswersOf("NS")));
        Assert.Contains(ns.Additional, r => r.Name == server && r.Type == "A" && r.Data == "127.0.0.1");
    }

    [Fact]
    public async Task AltDomain_AnswersLikeTheDomain_NamesItsTargetsInIt()
    {
        var srv = await Ask("web.service.alt.test", "SRV");
        Assert.Contains("1 1 8001 web-a.node.dc1.alt.test.", Data(srv.AnswersOf("SRV")));
        Assert.Contains(srv.Additional, r => r.Name == "web-a.node.dc1.alt.test.");
        Assert.Equal(["10.0.1.1"], Data((await Ask("web-a.node.alt.test", "A")).Answer));
    }

    [Fact]
    public async Task OutsideName_WithoutRecursors_Refused()
    {
        var a = await Ask("example.com", "A");
        Assert.Equal("REFUSED", a.Status);
        Assert.DoesNotContain("ra", a.Flags);
    }

    [Fact]
    public async Task TypeWithoutRecords_NodataWithSoa()
    {
        var a = await Ask("web.service.consul", "MX");
        Assert.Equal("NOERROR", a.Status);
        Assert.Empty(a.Answer);
        Assert.Contains(a.Authority, r => r.Type == "SOA");
    }

    [Fact]
    public async Task ServiceTtl_PrefixEntryApplies()
    {
        var a = await Ask("dbmain.service.consul", "A");
        Assert.Equal(3u, Assert.Single(a.Answer).Ttl);
        Assert.Equal(0u, Assert.Single((await Ask("legacy.service.consul", "SRV")).AnswersOf("SRV")).Ttl);
    }

    [Fact]
    public async Task IngressAndVirtual_NoSuchNames_Nxdomain()
    {
        Assert.Equal("NXDOMAIN", (await Ask("web.ingress.consul", "A")).Status);
        Assert.Equal("NXDOMAIN", (await Ask("web.virtual.consul", "A")).Status);
        Assert.Equal("NXDOMAIN", (await Ask("consul", "A")).Status);
    }
}
