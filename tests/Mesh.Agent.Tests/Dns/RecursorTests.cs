using System.Net;
using System.Net.Sockets;
using Mesh.Agent.Tests.Http;

namespace Mesh.Agent.Tests.Dns;

/// <summary>
/// Names outside the domain go to the recursors. The upstream here is a second agent serving its own domain, a real
/// DNS server on loopback; a bound UDP socket that never answers plays a dead recursor.
/// </summary>
public sealed class RecursorTests
{
    private static async Task<(InProcessAgent Upstream, string Node)> UpstreamAsync(bool truncate = false)
    {
        var upstream = await DnsAgentFixture.StartAgentAsync(d => d with { EnableTruncate = truncate }, domain: "upstream.test");
        return (upstream, upstream.Host.Identity.NodeName);
    }

    private static string Addr(IPEndPoint ep) => $"{ep.Address}:{ep.Port}";

    [Theory]
    [InlineData("+notcp")]
    [InlineData("+tcp")]
    public async Task OutsideName_ForwardedToTheRecursor(string transport)
    {
        var (upstream, node) = await UpstreamAsync();
        await using var _ = upstream;
        await using var agent = await DnsAgentFixture.StartAgentAsync(d => d with { Recursors = [Addr(upstream.Host.DnsEndpoints[0])] });
        var a = await Dig.QueryAsync(agent.Host.DnsEndpoints[0], $"{node}.node.upstream.test", "A", transport);
        Assert.Equal("NOERROR", a.Status);
        Assert.Equal("127.0.0.1", Assert.Single(a.AnswersOf("A")).Data);
        // The upstream's own negative answer comes back as it is.
        Assert.Equal("NXDOMAIN", (await Dig.QueryAsync(agent.Host.DnsEndpoints[0], "nobody.node.upstream.test", "A", transport)).Status);
    }

    [Fact]
    public async Task WithRecursors_LocalAnswersSetRecursionAvailable()
    {
        var (upstream, _) = await UpstreamAsync();
        await using var _u = upstream;
        await using var agent = await DnsAgentFixture.StartAgentAsync(d => d with { Recursors = [Addr(upstream.Host.DnsEndpoints[0])] });
        var a = await Dig.QueryAsync(agent.Host.DnsEndpoints[0], $"{agent.Host.Identity.NodeName}.node.consul", "A");
        Assert.Contains("ra", a.Flags);
    }

    [Fact]
    public async Task DeadRecursorFirst_TimesOut_NextOneAnswers()
    {
        using var dead = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        dead.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var (upstream, node) = await UpstreamAsync();
        await using var _ = upstream;
        await using var agent = await DnsAgentFixture.StartAgentAsync(d => d with
        {
            Recursors = [Addr((IPEndPoint)dead.LocalEndPoint!), Addr(upstream.Host.DnsEndpoints[0])],
            RecursorTimeout = TimeSpan.FromMilliseconds(300),
        });
        var a = await Dig.QueryAsync(agent.Host.DnsEndpoints[0], $"{node}.node.upstream.test", "A");
        Assert.Equal("127.0.0.1", Assert.Single(a.AnswersOf("A")).Data);
        Assert.Contains("timed out", agent.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryRecursorDead_Servfail()
    {
        using var dead = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        dead.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var agent = await DnsAgentFixture.StartAgentAsync(d => d with
        {
            Recursors = [Addr((IPEndPoint)dead.LocalEndPoint!)],
            RecursorTimeout = TimeSpan.FromMilliseconds(200),
        });
        Assert.Equal("SERVFAIL", (await Dig.QueryAsync(agent.Host.DnsEndpoints[0], "example.org", "A")).Status);
        Assert.Equal("SERVFAIL", (await Dig.QueryAsync(agent.Host.DnsEndpoints[0], "example.org", "A", "+tcp")).Status);
    }

    [Fact]
    public async Task UnknownReverseName_GoesToTheRecursor()
    {
        var (upstream, _) = await UpstreamAsync();
        await using var _u = upstream;
        await using var agent = await DnsAgentFixture.StartAgentAsync(d => d with { Recursors = [Addr(upstream.Host.DnsEndpoints[0])] });
        // Only the upstream knows this address, and names it in its own domain.
        await DnsAgentFixture.RegisterAsync(upstream, "far-node", "10.99.0.1", null, null);
        var ptr = await Dig.QueryAsync(agent.Host.DnsEndpoints[0], "1.0.99.10.in-addr.arpa", "PTR");
        Assert.Equal("far-node.node.dc1.upstream.test.", Assert.Single(ptr.Answer).Data);
        var unknown = await Dig.QueryAsync(agent.Host.DnsEndpoints[0], "9.9.9.198.in-addr.arpa", "PTR");
        Assert.Equal("NXDOMAIN", unknown.Status);
    }

    [Fact]
    public async Task TruncatedUpstreamUdpAnswer_RetriedOverTcp_FullAnswerWhenItFits()
    {
        var (upstream, _) = await UpstreamAsync(truncate: true);
        await using var _u = upstream;
        for (var i = 0; i < 12; i++)
            await DnsAgentFixture.RegisterAsync(upstream, $"big-{i}", $"10.4.0.{i + 1}", $$"""{"Service":"big","ID":"big{{i}}","Port":{{7000 + i}}}""", "passing");
        await using var agent = await DnsAgentFixture.StartAgentAsync(d => d with { Recursors = [Addr(upstream.Host.DnsEndpoints[0])] });
        var dns = agent.Host.DnsEndpoints[0];
        // Asked directly without EDNS, the upstream cuts the answer to 3 and sets TC.
        var direct = await Dig.QueryAsync(upstream.Host.DnsEndpoints[0], "big.service.upstream.test", "A", "+noedns", "+ignore");
        Assert.Contains("tc", direct.Flags);
        // Through the agent, the forwarder retries that over TCP; twelve A records fit 512 bytes, so all come back over UDP.
        var full = await Dig.QueryAsync(dns, "big.service.upstream.test", "A", "+noedns", "+ignore");
        Assert.DoesNotContain("tc", full.Flags);
        Assert.Equal(12, full.Answer.Count);
    }

    [Fact]
    public async Task TruncatedUpstreamAnswerTooBigForUdp_PassedBack_ClientRetriesOverTcp()
    {
        var (upstream, _) = await UpstreamAsync(truncate: true);
        await using var _u = upstream;
        for (var i = 0; i < 40; i++)
            await DnsAgentFixture.RegisterAsync(upstream, $"big-{i}", $"10.4.0.{i + 1}", $$"""{"Service":"big","ID":"big{{i}}","Port":{{7000 + i}}}""", "passing");
        await using var agent = await DnsAgentFixture.StartAgentAsync(d => d with { Recursors = [Addr(upstream.Host.DnsEndpoints[0])] });
        var dns = agent.Host.DnsEndpoints[0];
        var cut = await Dig.QueryAsync(dns, "big.service.upstream.test", "SRV", "+noedns", "+ignore");
        Assert.Contains("tc", cut.Flags);
        Assert.Equal(3, cut.AnswersOf("SRV").Count());
        var retried = await Dig.QueryAsync(dns, "big.service.upstream.test", "SRV", "+noedns");
        Assert.Equal(40, retried.AnswersOf("SRV").Count());
    }

    [Fact]
    public async Task TcpOnlyRecursor_UdpRefused_FallsBackToTcp()
    {
        var (upstream, node) = await UpstreamAsync();
        await using var _u = upstream;
        // A TCP-only front for the upstream: nothing listens on UDP at its port, so UDP is refused.
        using var front = new TcpListener(IPAddress.Loopback, 0);
        front.Start();
        using var stop = new CancellationTokenSource();
        var relay = RelayAsync(front, upstream.Host.DnsEndpoints[0], stop.Token);
        await using var agent = await DnsAgentFixture.StartAgentAsync(d => d with { Recursors = [Addr((IPEndPoint)front.LocalEndpoint)] });
        var a = await Dig.QueryAsync(agent.Host.DnsEndpoints[0], $"{node}.node.upstream.test", "A");
        Assert.Equal("127.0.0.1", Assert.Single(a.AnswersOf("A")).Data);
        await stop.CancelAsync();
        front.Stop();
        await relay;
    }

    private static async Task RelayAsync(TcpListener front, IPEndPoint target, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                using var inbound = await front.AcceptTcpClientAsync(ct);
                using var outbound = new TcpClient();
                await outbound.ConnectAsync(target, ct);
                var a = inbound.GetStream().CopyToAsync(outbound.GetStream(), ct);
                var b = outbound.GetStream().CopyToAsync(inbound.GetStream(), ct);
                await Task.WhenAny(a, b);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
        }
    }
}
