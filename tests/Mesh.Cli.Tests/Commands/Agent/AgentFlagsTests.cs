using Mesh.Cli.Commands;

namespace Mesh.Cli.Tests.Commands.Agent;

public sealed class AgentFlagsTests
{
    [Fact]
    public void DnsFlags_SetPortDomainsAndRecursors_FlagsAfterFiles()
    {
        var dir = Directory.CreateTempSubdirectory("mesh-agent-flags-").FullName;
        try
        {
            var file = Path.Combine(dir, "dns.json");
            File.WriteAllText(file, """{"recursors": ["9.9.9.9"], "dns_config": {"only_passing": true}}""");
            var c = AgentCommand.Parse(["-dev", "-config-file", file, "-dns-port", "8653", "-domain", "mesh.test", "-alt-domain", "alt.test",
                "-recursor", "1.1.1.1", "-recursor", "8.8.8.8:53"]);
            Assert.Equal(8653, c.Ports.Dns);
            Assert.Equal("mesh.test", c.Domain);
            Assert.Equal("alt.test", c.Dns.AltDomain);
            Assert.Equal(["9.9.9.9", "1.1.1.1", "8.8.8.8:53"], c.Dns.Recursors.ToArray());
            Assert.True(c.Dns.OnlyPassing);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void NoDnsFlags_ConsulDefaults()
    {
        var c = AgentCommand.Parse(["-dev"]);
        Assert.Equal(8600, c.Ports.Dns);
        Assert.Equal("consul.", c.Domain);
        Assert.Empty(c.Dns.Recursors);
        Assert.Equal(3, c.Dns.UdpAnswerLimit);
    }
}
