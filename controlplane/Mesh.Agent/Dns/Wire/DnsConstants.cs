namespace Mesh.Agent.Dns.Wire;

/// <summary>Resource record types the server reads or writes (RFC 1035, 3596, 2782, 6891).</summary>
internal static class DnsType
{
    public const ushort A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28, SRV = 33, OPT = 41,
        IXFR = 251, AXFR = 252, ANY = 255;
}

/// <summary>Response codes (RFC 1035 §4.1.1; BADVERS is RFC 6891's extended code 16).</summary>
internal static class DnsRcode
{
    public const int NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5, BadVers = 16;
}

/// <summary>Header flag bits of the second 16-bit header word.</summary>
internal static class DnsFlags
{
    public const ushort Response = 0x8000, Authoritative = 0x0400, Truncated = 0x0200, RecursionDesired = 0x0100,
        RecursionAvailable = 0x0080, AuthenticData = 0x0020, CheckingDisabled = 0x0010;

    /// <summary>The opcode of a header word (0 is a standard query).</summary>
    public static int Opcode(ushort flags) => (flags >> 11) & 0xF;
}

/// <summary>Fixed sizes of the wire format.</summary>
internal static class DnsLimits
{
    /// <summary>Header length.</summary>
    public const int Header = 12;

    /// <summary>The classic UDP payload limit for a client without EDNS (RFC 1035 §2.3.4).</summary>
    public const int ClassicUdp = 512;

    /// <summary>Largest message (TCP's two-byte length prefix, and the buffer every writer owns).</summary>
    public const int MaxMessage = 65535;

    /// <summary>Largest encoded name, length bytes included (RFC 1035 §2.3.4).</summary>
    public const int MaxName = 255;

    /// <summary>Largest label.</summary>
    public const int MaxLabel = 63;
}
