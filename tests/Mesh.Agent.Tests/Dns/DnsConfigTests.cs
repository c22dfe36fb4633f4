using Mesh.Agent.Config;
using Mesh.Agent.Tests.Http;

namespace Mesh.Agent.Tests.Dns;

/// <summary>The DNS keys of config files, and the agent's checks of them at start.</summary>
public sealed class DnsConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-dns-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private AgentConfig Load(string json)
    {
        var file = Path.Combine(_dir, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json);
        return ConfigLoader.ApplyFiles(new AgentConfig(), [file]);
    }

    [Fact]
    public void DnsKeys_AllRead()
    {
        var c = Load("""
            {
              "alt_domain": "alt.test.", "recursors": ["1.1.1.1", "9.9.9.9:5353"],
              "addresses": {"dns": "127.0.0.2"}, "ports": {"dns": 8653},
              "dns_config": {
                "allow_stale": false, "max_stale": "5s", "node_ttl": "30s", "service_ttl": {"*": "5s", "web": "1m"},
                "enable_truncate": true, "only_passing": true, "udp_answer_limit": 5, "a_record_limit": 7,
                "recursor_timeout": "500ms", "recursor_strategy": "random", "enable_additional_node_meta_txt": false,
                "disable_compression": true, "use_cache": true, "cache_max_age": "10s",
                "soa": {"refresh": 1, "retry": 2, "expire": 3, "min_ttl": 4}
              }
            }
            """);
        var d = c.Dns;
        Assert.Equal("alt.test.", d.AltDomain);
        Assert.Equal(["1.1.1.1", "9.9.9.9:5353"], d.Recursors.ToArray());
        Assert.Equal("127.0.0.2", c.DnsAddr);
        Assert.Equal(8653, c.Ports.Dns);
        Assert.False(d.AllowStale);
        Assert.Equal(TimeSpan.FromSeconds(5), d.MaxStale);
        Assert.Equal(TimeSpan.FromSeconds(30), d.NodeTtl);
        Assert.Equal(TimeSpan.FromMinutes(1), d.TtlForService("web"));
        Assert.Equal(TimeSpan.FromSeconds(5), d.TtlForService("db"));
        Assert.True(d.EnableTruncate);
        Assert.True(d.OnlyPassing);
        Assert.Equal((5, 7), (d.UdpAnswerLimit, d.ARecordLimit));
        Assert.Equal(TimeSpan.FromMilliseconds(500), d.RecursorTimeout);
        Assert.Equal("random", d.RecursorStrategy);
        Assert.False(d.NodeMetaTxt);
        Assert.True(d.DisableCompression);
        Assert.Equal((1u, 2u, 3u, 4u), (d.SoaRefresh, d.SoaRetry, d.SoaExpire, d.SoaMinTtl));
    }

    [Theory]
    [InlineData("""{"dns_config": {"udp_answer_limit": -1}}""", "udp_answer_limit")]
    [InlineData("""{"dns_config": {"node_ttl": "soon"}}""", "node_ttl")]
    [InlineData("""{"dns_config": {"recursor_strategy": "fastest"}}""", "recursor_strategy")]
    [InlineData("""{"dns_config": {"no_such_key": 1}}""", "dns_config.no_such_key")]
    [InlineData("""{"dns_config": {"soa": {"serial": 1}}}""", "dns_config.soa.serial")]
    [InlineData("""{"recursors": "1.1.1.1"}""", "recursors")]
    [InlineData("""{"dns_config": {"service_ttl": {"web": 5}}}""", "web")]
    public void BadDnsKey_ErrorNamesIt(string json, string named)
    {
        var ex = Assert.Throws<ConfigException>(() => Load(json));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bad domain!")]
    [InlineData(".")]
    public async Task Start_InvalidDomain_Refused(string domain)
    {
        var ex = await Assert.ThrowsAsync<ConfigException>(() => DnsAgentFixture.StartAgentAsync(domain: domain));
        Assert.Contains("domain", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_InvalidRecursor_Refused()
    {
        var ex = await Assert.ThrowsAsync<ConfigException>(() => DnsAgentFixture.StartAgentAsync(d => d with { Recursors = ["1.2.3.4:0"] }));
        Assert.Contains("recursor", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_DnsPortTaken_ClearError()
    {
        await using var first = await DnsAgentFixture.StartAgentAsync();
        var port = first.Host.DnsEndpoints[0].Port;
        var ex = await Assert.ThrowsAsync<ConfigException>(() => InProcessAgent.StartAsync(c => c with { Ports = c.Ports with { Dns = port } }));
        Assert.Contains($"DNS on port {port}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DnsPortMinusOne_NoDnsServer()
    {
        await using var agent = await InProcessAgent.StartAsync();
        Assert.Empty(agent.Host.DnsEndpoints);
    }
}
