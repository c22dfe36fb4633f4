using System.Net;
using Mesh.Agent.Dns;
using Mesh.Agent.Dns.Wire;

namespace Mesh.Agent.Tests.Dns;

/// <summary>The wire codec on its own: names, compression, EDNS and the helpers of the resolver.</summary>
public sealed class DnsWireTests
{
    private static string ReadBack(ReadOnlySpan<byte> message, ref int pos)
    {
        Span<char> text = stackalloc char[256];
        Span<byte> wire = stackalloc byte[256];
        var n = DnsQuery.ReadName(message, ref pos, text, wire, out _, out _);
        Assert.True(n > 0, "name did not read back");
        return new string(text[..n]);
    }

    [Fact]
    public void Name_RepeatedSuffixes_CompressedToPointers_ReadBackWhole()
    {
        var w = new DnsMessageWriter();
        w.Begin(1, 0);
        w.Name(DnsName.ToWire("web.service.consul.")!);
        var second = w.Length;
        w.Name(DnsName.ToWire("node-1.node.dc1.consul.")!);
        var third = w.Length;
        w.Name(DnsName.ToWire("WEB.service.consul.")!);
        var end = w.Length;
        // The third name is the first one again (case aside): a single two-byte pointer.
        Assert.Equal(2, end - third);
        // The second shares only "consul.": its own labels, then a pointer.
        Assert.Equal(7 + 5 + 4 + 2, third - second);
        var msg = w.Written.ToArray();
        var pos = 12;
        Assert.Equal("web.service.consul.", ReadBack(msg, ref pos));
        Assert.Equal("node-1.node.dc1.consul.", ReadBack(msg, ref pos));
        Assert.Equal("web.service.consul.", ReadBack(msg, ref pos));
        Assert.Equal(end, pos);
    }

    [Fact]
    public void Name_CompressionOff_WritesEveryLabel()
    {
        var w = new DnsMessageWriter { Compress = false };
        w.Begin(1, 0);
        w.Name(DnsName.ToWire("a.consul.")!);
        var first = w.Length;
        w.Name(DnsName.ToWire("a.consul.")!);
        Assert.Equal(first - 12, w.Length - first);
    }

    [Fact]
    public void Rewind_ForgetsSuffixesWrittenAfterIt()
    {
        var w = new DnsMessageWriter();
        w.Begin(1, 0);
        var mark = w.Length;
        w.Name(DnsName.ToWire("x.consul.")!);
        w.Rewind(mark);
        w.Name(DnsName.ToWire("y.consul.")!);
        // No pointer into the discarded bytes: the name is written in full.
        Assert.Equal(1 + 1 + 1 + 6 + 1, w.Length - mark);
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData("caf\u00e9.consul")]
    public void ToWire_NotADnsName_Null(string name) => Assert.Null(DnsName.ToWire(name));

    [Fact]
    public void ToWire_LabelOf64_Null_NameOver255_Null()
    {
        Assert.Null(DnsName.ToWire(new string('a', 64) + ".consul"));
        Assert.NotNull(DnsName.ToWire(new string('a', 63) + ".consul"));
        Assert.Null(DnsName.ToWire(string.Join('.', Enumerable.Repeat(new string('a', 63), 4))));
    }

    [Fact]
    public void Parse_Edns_ReadsSizeDoBitAndClientSubnet()
    {
        byte[] packet =
        [
            .. DnsRobustnessTests.Query("web.service.consul", 33)[..^0],
        ];
        packet[11] = 1; // ARCOUNT
        byte[] opt = [0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2];
        var q = new DnsQuery();
        Assert.Equal(DnsParseStatus.Ok, q.Parse([.. packet, .. opt]));
        Assert.True(q.HasEdns);
        Assert.Equal(4096, q.UdpSize);
        Assert.True(q.DnssecOk);
        Assert.Equal((ushort)1, q.ClientSubnet!.Value.Family);
        Assert.Equal((byte)24, q.ClientSubnet!.Value.SourcePrefix);
        Assert.Equal("web.service.consul.", q.Name);
        Assert.Equal((ushort)33, q.Type);
    }

    [Fact]
    public void Parse_TwoOptRecords_FormErr_EdnsSizeBelow512_Is512()
    {
        var packet = DnsRobustnessTests.Query("a.consul", 1);
        packet[11] = 2;
        byte[] opt = [0, 0, 41, 0x01, 0x00, 0, 0, 0, 0, 0, 0];
        Assert.Equal(DnsParseStatus.FormErr, new DnsQuery().Parse([.. packet, .. opt, .. opt]));
        packet[11] = 1;
        var q = new DnsQuery();
        Assert.Equal(DnsParseStatus.Ok, q.Parse([.. packet, .. opt]));
        Assert.Equal(512, q.UdpSize);
    }

    [Fact]
    public void Parse_QuestionWithPointerBackIntoItself_Drop_PointerInEarlierRecordResolves()
    {
        // A question name that is only a pointer to the header is refused (pointers must land on a name, at 12 or later).
        byte[] bad = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x00, 0, 1, 0, 1];
        Assert.Equal(DnsParseStatus.Drop, new DnsQuery().Parse(bad));
    }

    [Fact]
    public void Parse_LabelWithDot_IsOdd_AnsweredNxdomainNotMisread()
    {
        byte[] packet = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, (byte)'a', (byte)'.', (byte)'b', 6, .. "consul"u8, 0, 0, 1, 0, 1];
        var q = new DnsQuery();
        Assert.Equal(DnsParseStatus.Ok, q.Parse(packet));
        Assert.True(q.HasOddLabel);
    }

    [Theory]
    [InlineData("rack", "r1", "rack=r1")]
    [InlineData("a=b", "c", "a`=b=c")]
    [InlineData(" lead", "v", "` lead=v")]
    [InlineData("trail ", "v", "trail` =v")]
    [InlineData("back`q", "x`y", "back``q=x``y")]
    public void EncodeKeyValue_QuotesAsRfc1464(string key, string value, string expected) =>
        Assert.Equal(expected, DnsResolver.EncodeKeyValue(key, value));

    [Theory]
    [InlineData("4.3.2.1.in-addr.arpa.", "1.2.3.4")]
    [InlineData("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "2001:db8::1")]
    [InlineData("3.2.1.in-addr.arpa.", null)]
    [InlineData("256.3.2.1.in-addr.arpa.", null)]
    [InlineData("x.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", null)]
    public void FromArpa_CompleteNamesOnly(string name, string? expected) =>
        Assert.Equal(expected is null ? null : IPAddress.Parse(expected), DnsResolver.FromArpa(name));

    [Fact]
    public void TtlForService_ExactBeatsPrefix_LongestPrefixWins_DefaultZero()
    {
        var cfg = new Mesh.Agent.Config.DnsConfig
        {
            ServiceTtl = System.Collections.Immutable.ImmutableDictionary<string, TimeSpan>.Empty
                .Add("*", TimeSpan.FromSeconds(1)).Add("db*", TimeSpan.FromSeconds(2)).Add("db-main*", TimeSpan.FromSeconds(3)).Add("db", TimeSpan.FromSeconds(4)),
        };
        Assert.Equal(TimeSpan.FromSeconds(4), cfg.TtlForService("db"));
        Assert.Equal(TimeSpan.FromSeconds(3), cfg.TtlForService("db-main-1"));
        Assert.Equal(TimeSpan.FromSeconds(2), cfg.TtlForService("dbx"));
        Assert.Equal(TimeSpan.FromSeconds(1), cfg.TtlForService("web"));
        Assert.Equal(TimeSpan.Zero, new Mesh.Agent.Config.DnsConfig().TtlForService("web"));
    }

    [Theory]
    [InlineData("8.8.8.8", "8.8.8.8", 53)]
    [InlineData("8.8.8.8:5353", "8.8.8.8", 5353)]
    [InlineData("::1", "::1", 53)]
    [InlineData("[::1]:5353", "::1", 5353)]
    [InlineData("dns.example.com", "dns.example.com", 53)]
    [InlineData("dns.example.com:54", "dns.example.com", 54)]
    public void ParseRecursor_AddressesAndPorts(string text, string host, int port) =>
        Assert.Equal((host, port), DnsForwarder.ParseRecursor(text));

    [Theory]
    [InlineData("8.8.8.8:0")]
    [InlineData("8.8.8.8:99999")]
    [InlineData("not a host")]
    [InlineData("")]
    public void ParseRecursor_Invalid_ConfigError(string text) =>
        Assert.Throws<Mesh.Agent.Config.ConfigException>(() => DnsForwarder.ParseRecursor(text));
}
