using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Mesh.Agent.Tests.Http;

namespace Mesh.Agent.Tests.Dns;

/// <summary>Garbage on the DNS ports: every packet is dropped or answered with an error and counted; nothing stops the server.</summary>
public sealed class DnsRobustnessTests
{
    private static async Task<double> GaugeAsync(InProcessAgent agent, string name)
    {
        var json = await agent.JsonAsync("/v1/agent/metrics");
        return json.GetProperty("Gauges").EnumerateArray().Single(g => g.GetProperty("Name").GetString() == "mesh." + name).GetProperty("Value").GetDouble();
    }

    private static byte[] Header(ushort flags, ushort qd = 1) =>
    [
        0x12, 0x34, (byte)(flags >> 8), (byte)flags, (byte)(qd >> 8), (byte)qd, 0, 0, 0, 0, 0, 0,
    ];

    /// <summary>Packets that must be dropped: short headers, responses, broken names, pointer loops, cut-off questions.</summary>
    internal static IEnumerable<byte[]> Unreadable(Random rng)
    {
        for (var n = 0; n < 12; n++) yield return [.. Enumerable.Range(0, n).Select(_ => (byte)rng.Next(256))];
        // A response (QR set) is never answered.
        yield return [.. Header(0x8100), 3, (byte)'w', (byte)'w', (byte)'w', 0, 0, 1, 0, 1];
        // A pointer to itself, a pointer forward, two pointers to each other.
        yield return [.. Header(0x0100), 0xC0, 12, 0, 1, 0, 1];
        yield return [.. Header(0x0100), 0xC0, 20, 0, 1, 0, 1, 0, 0, 0, 0];
        yield return [.. Header(0x0100), 1, (byte)'a', 0xC0, 16, 0xC0, 12, 0, 1, 0, 1];
        // A label running past the end; a reserved label type; a name over 255 bytes.
        yield return [.. Header(0x0100), 40, (byte)'a', (byte)'b'];
        yield return [.. Header(0x0100), 0x45, (byte)'a', 0, 0, 1, 0, 1];
        yield return [.. Header(0x0100), .. Enumerable.Repeat<byte[]>([63, .. Enumerable.Repeat((byte)'x', 63)], 5).SelectMany(b => b), 0, 0, 1, 0, 1];
        // Name complete but no type/class.
        yield return [.. Header(0x0100), 1, (byte)'a', 0, 0];
    }

    [Fact]
    public async Task MalformedPackets_AreDroppedAndCounted_ServerKeepsAnswering()
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync();
        var dns = agent.Host.DnsEndpoints[0];
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Connect(dns);
        var rng = new Random(4242);
        var unreadable = Unreadable(rng).ToList();
        foreach (var p in unreadable) await udp.SendAsync(p, SocketFlags.None);
        await WaitForAsync(async () => await GaugeAsync(agent, "dns.malformed_dropped") >= unreadable.Count);
        Assert.Equal(unreadable.Count, await GaugeAsync(agent, "dns.malformed_dropped"));
        Assert.Equal(0, await GaugeAsync(agent, "dns.queries_udp"));
        var node = agent.Host.Identity.NodeName;
        Assert.Equal("NOERROR", (await Dig.QueryAsync(dns, $"{node}.node.consul", "A")).Status);
    }

    [Fact]
    public async Task FuzzLoop_TenThousandPackets_EachCountedOnce_NoCrash()
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync();
        var dns = agent.Host.DnsEndpoints[0];
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.ReceiveBufferSize = 8 * 1024 * 1024;
        udp.Connect(dns);
        var rng = new Random(7);
        var valid = Query("fuzz.node.consul", 1);
        const int total = 10_000;
        for (var i = 0; i < total; i++)
        {
            byte[] packet = (i % 4) switch
            {
                // Pure noise.
                0 => RandomBytes(rng, rng.Next(0, 600)),
                // A valid query with a few bytes flipped.
                1 => Mutate(rng, valid),
                // A valid query cut short.
                2 => valid[..rng.Next(0, valid.Length)],
                // A plausible header followed by noise.
                _ => [.. Header((ushort)rng.Next(0, 0x7FFF), (ushort)rng.Next(0, 3)), .. RandomBytes(rng, rng.Next(0, 80))],
            };
            await udp.SendAsync(packet, SocketFlags.None);
            // Pace the sender a little so the kernel's socket buffer never overflows: every packet must reach the server.
            if (i % 200 == 199) await WaitForAsync(async () => await CountedAsync(agent) >= i + 1 - 200);
        }
        // Every packet was received and classified exactly once: answered, rejected (FORMERR/NOTIMP/BADVERS) or dropped.
        await WaitForAsync(async () => await CountedAsync(agent) >= total);
        Assert.Equal(total, await CountedAsync(agent));
        Assert.True(await GaugeAsync(agent, "dns.malformed_dropped") > 0);
        var node = agent.Host.Identity.NodeName;
        Assert.Equal("NOERROR", (await Dig.QueryAsync(dns, $"{node}.node.consul", "A")).Status);
        Assert.Equal("NOERROR", (await Dig.QueryAsync(dns, $"{node}.node.consul", "A", "+tcp")).Status);
        Assert.DoesNotContain("unexpected error", agent.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TcpGarbage_ClosesThatConnection_OthersUnaffected()
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync();
        var dns = agent.Host.DnsEndpoints[0];
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(dns);
            var stream = tcp.GetStream();
            // A framed packet of noise, then a length prefix promising more than ever comes.
            await stream.WriteAsync(new byte[] { 0, 5, 1, 2, 3, 4, 5 });
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(0, read);
        }
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(dns);
            await tcp.GetStream().WriteAsync(new byte[] { 0x40, 0 });
        }
        var node = agent.Host.Identity.NodeName;
        Assert.Equal("NOERROR", (await Dig.QueryAsync(dns, $"{node}.node.consul", "A", "+tcp")).Status);
    }

    [Theory]
    [InlineData(0x2800, 1, 4)] // opcode UPDATE: NOTIMP
    [InlineData(0x0100, 2, 1)] // two questions: FORMERR
    [InlineData(0x0100, 0, 1)] // no question: FORMERR
    public async Task UnsupportedQueries_AnsweredWithTheRightRcode(int flags, int questions, int rcode)
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync();
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Connect(agent.Host.DnsEndpoints[0]);
        await udp.SendAsync(Header((ushort)flags, (ushort)questions).Concat(Query("x.consul", 1)[12..]).ToArray(), SocketFlags.None);
        var buffer = new byte[512];
        var n = await udp.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(n >= 12);
        Assert.Equal(0x1234, BinaryPrimitives.ReadUInt16BigEndian(buffer));
        Assert.True((buffer[2] & 0x80) != 0, "QR must be set");
        Assert.Equal(rcode, buffer[3] & 0xF);
    }

    [Fact]
    public async Task EdnsVersion1_AnsweredBadvers()
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync();
        var a = await Dig.QueryAsync(agent.Host.DnsEndpoints[0], "x.node.consul", "A", "+edns=1", "+noednsneg");
        Assert.Equal("BADVERS", a.Status);
    }

    [Fact]
    public async Task Axfr_NotImplemented()
    {
        await using var agent = await DnsAgentFixture.StartAgentAsync();
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Connect(agent.Host.DnsEndpoints[0]);
        await udp.SendAsync(Query("consul", 252), SocketFlags.None);
        var buffer = new byte[512];
        await udp.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, buffer[3] & 0xF);
    }

    private static async Task<double> CountedAsync(InProcessAgent agent) =>
        await GaugeAsync(agent, "dns.queries_udp") + await GaugeAsync(agent, "dns.malformed_dropped") + await GaugeAsync(agent, "dns.rejected");

    internal static byte[] Query(string name, ushort type)
    {
        var body = new List<byte>(Header(0x0100));
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            body.Add((byte)label.Length);
            body.AddRange(label.Select(c => (byte)c));
        }
        body.AddRange([0, (byte)(type >> 8), (byte)type, 0, 1]);
        return [.. body];
    }

    private static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    private static byte[] Mutate(Random rng, byte[] packet)
    {
        var copy = (byte[])packet.Clone();
        for (var k = rng.Next(1, 4); k > 0; k--) copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
        return copy;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met within 30 s");
            await Task.Delay(20);
        }
    }
}
