using System.Buffers.Binary;

namespace Mesh.Agent.Dns.Wire;

/// <summary>What reading a packet decided.</summary>
internal enum DnsParseStatus
{
    /// <summary>A single well-formed question: answer it.</summary>
    Ok,

    /// <summary>Not a query we can answer at all (too short, a response, a broken name): drop it silently and count it.</summary>
    Drop,

    /// <summary>A readable header but a malformed or multi-question body: answer FORMERR.</summary>
    FormErr,

    /// <summary>An opcode other than QUERY: answer NOTIMP.</summary>
    NotImp,

    /// <summary>An EDNS version other than 0: answer BADVERS (RFC 6891 §6.1.3).</summary>
    BadVersion,
}

/// <summary>
/// A parsed query: header fields, the single question and its EDNS options. The question name is kept as an offset into
/// the packet (so the answer echoes it byte for byte, case included) and as a lower-case string for lookups.
/// </summary>
internal sealed class DnsQuery
{
    /// <summary>The query ID.</summary>
    public ushort Id { get; private set; }

    /// <summary>The header flag word as received.</summary>
    public ushort Flags { get; private set; }

    /// <summary>The question name, lower-cased, dot separated, with the trailing dot (the root is <c>.</c>).</summary>
    public string Name { get; private set; } = ".";

    private readonly byte[] _questionWire = new byte[DnsLimits.MaxName + 1];
    private int _questionWireLength;

    /// <summary>The question name in uncompressed wire form, in the asker's spelling (answers echo it byte for byte).</summary>
    public ReadOnlySpan<byte> QuestionWire => _questionWire.AsSpan(0, _questionWireLength);

    /// <summary>The question type.</summary>
    public ushort Type { get; private set; }

    /// <summary>The question class.</summary>
    public ushort Class { get; private set; }

    /// <summary>Whether a label holds a byte no lookup can match (a dot or a control byte): such names are answered NXDOMAIN.</summary>
    public bool HasOddLabel { get; private set; }

    /// <summary>Whether the query carried an OPT record.</summary>
    public bool HasEdns { get; private set; }

    /// <summary>The requester's UDP payload size (512 without EDNS; never below 512).</summary>
    public int UdpSize { get; private set; } = DnsLimits.ClassicUdp;

    /// <summary>The DNSSEC OK bit.</summary>
    public bool DnssecOk { get; private set; }

    /// <summary>An EDNS client-subnet option (RFC 7871), as family, source prefix and address bytes, to echo back.</summary>
    public (ushort Family, byte SourcePrefix, byte[] Address)? ClientSubnet { get; private set; }

    /// <summary>Whether the header's recursion-desired bit is set.</summary>
    public bool RecursionDesired => (Flags & DnsFlags.RecursionDesired) != 0;

    /// <summary>Reads <paramref name="packet"/> into this object (reused across packets by one server loop).</summary>
    public DnsParseStatus Parse(ReadOnlySpan<byte> packet)
    {
        Reset();
        if (packet.Length < DnsLimits.Header) return DnsParseStatus.Drop;
        Id = BinaryPrimitives.ReadUInt16BigEndian(packet);
        Flags = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        // A response sent to a server is never answered: answering could start a loop between two servers.
        if ((Flags & DnsFlags.Response) != 0) return DnsParseStatus.Drop;
        var qd = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var an = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
        var ns = BinaryPrimitives.ReadUInt16BigEndian(packet[8..]);
        var ar = BinaryPrimitives.ReadUInt16BigEndian(packet[10..]);
        if (DnsFlags.Opcode(Flags) != 0) return DnsParseStatus.NotImp;
        if (qd != 1) return DnsParseStatus.FormErr;

        Span<char> name = stackalloc char[DnsLimits.MaxName + 1];
        var pos = DnsLimits.Header;
        var nameLength = ReadName(packet, ref pos, name, _questionWire, out _questionWireLength, out var odd);
        if (nameLength < 0) return DnsParseStatus.Drop;
        if (pos + 4 > packet.Length) return DnsParseStatus.Drop;
        Type = BinaryPrimitives.ReadUInt16BigEndian(packet[pos..]);
        Class = BinaryPrimitives.ReadUInt16BigEndian(packet[(pos + 2)..]);
        pos += 4;
        Name = NameCache.Get(name[..nameLength]);
        HasOddLabel = odd;

        // Answer and authority records have no business in a query; skip them, then look for OPT among the additional ones.
        for (var i = 0; i < an + ns; i++)
            if (!SkipRecord(packet, ref pos, out _, out _, out _)) return DnsParseStatus.FormErr;
        for (var i = 0; i < ar; i++)
        {
            var start = pos;
            if (!SkipRecord(packet, ref pos, out var type, out var rdataStart, out var rdataLength)) return DnsParseStatus.FormErr;
            if (type != DnsType.OPT) continue;
            // OPT: owner must be the root, and only one may appear (RFC 6891 §6.1.1).
            if (HasEdns || packet[start] != 0) return DnsParseStatus.FormErr;
            HasEdns = true;
            var udp = BinaryPrimitives.ReadUInt16BigEndian(packet[(start + 3)..]);
            UdpSize = Math.Max((int)udp, DnsLimits.ClassicUdp);
            var version = packet[start + 6];
            DnssecOk = (packet[start + 7] & 0x80) != 0;
            if (version != 0) return DnsParseStatus.BadVersion;
            if (!ReadOptions(packet.Slice(rdataStart, rdataLength))) return DnsParseStatus.FormErr;
        }
        return DnsParseStatus.Ok;
    }

    private void Reset()
    {
        Id = 0;
        Flags = 0;
        Name = ".";
        _questionWireLength = 0;
        Type = 0;
        Class = 0;
        HasOddLabel = false;
        HasEdns = false;
        UdpSize = DnsLimits.ClassicUdp;
        DnssecOk = false;
        ClientSubnet = null;
    }

    private bool ReadOptions(ReadOnlySpan<byte> rdata)
    {
        while (rdata.Length > 0)
        {
            if (rdata.Length < 4) return false;
            var code = BinaryPrimitives.ReadUInt16BigEndian(rdata);
            var length = BinaryPrimitives.ReadUInt16BigEndian(rdata[2..]);
            if (rdata.Length < 4 + length) return false;
            var data = rdata.Slice(4, length);
            if (code == 8)
            {
                // Client subnet: family(2) source-prefix(1) scope-prefix(1) address(ceil(source/8) bytes).
                if (data.Length < 4) return false;
                var family = BinaryPrimitives.ReadUInt16BigEndian(data);
                var source = data[2];
                var max = family switch { 1 => 32, 2 => 128, _ => -1 };
                if (max < 0 || source > max || data.Length - 4 != (source + 7) / 8) return false;
                ClientSubnet = (family, source, data[4..].ToArray());
            }
            rdata = rdata[(4 + length)..];
        }
        return true;
    }

    /// <summary>
    /// Reads a possibly compressed name at <paramref name="pos"/> into <paramref name="into"/> as lower-case text ending in a
    /// dot and into <paramref name="wireOut"/> as uncompressed wire form (spelling kept), and moves <paramref name="pos"/> past it. Returns the text length, or -1 when the name is malformed: a label
    /// type other than plain or pointer, a pointer that does not point strictly backwards (which rules out loops), or a
    /// name longer than 255 bytes.
    /// </summary>
    internal static int ReadName(ReadOnlySpan<byte> packet, ref int pos, Span<char> into, Span<byte> wireOut, out int wireLength, out bool odd)
    {
        odd = false;
        wireLength = 0;
        var written = 0;
        var wire = 0;
        var cursor = pos;
        var jumped = false;
        var lowestTarget = pos;
        while (true)
        {
            if (cursor >= packet.Length) return -1;
            var length = packet[cursor];
            if ((length & 0xC0) == 0xC0)
            {
                if (cursor + 1 >= packet.Length) return -1;
                var target = ((length & 0x3F) << 8) | packet[cursor + 1];
                // Each jump must land before every label read so far: the walk can only move backwards, so it ends.
                if (target >= lowestTarget || target < DnsLimits.Header) return -1;
                if (!jumped) pos = cursor + 2;
                jumped = true;
                lowestTarget = target;
                cursor = target;
                continue;
            }
            if ((length & 0xC0) != 0) return -1;
            if (length == 0)
            {
                if (!jumped) pos = cursor + 1;
                if (written == 0) into[written++] = '.';
                wireOut[wire] = 0;
                wireLength = wire + 1;
                return written;
            }
            if (wire + length + 2 > DnsLimits.MaxName || cursor + 1 + length > packet.Length) return -1;
            packet.Slice(cursor, length + 1).CopyTo(wireOut[wire..]);
            wire += length + 1;
            foreach (var b in packet.Slice(cursor + 1, length))
            {
                var c = (char)b;
                if (c is >= 'A' and <= 'Z') c = (char)(c | 0x20);
                else if (c == '.' || b < 0x21 || b > 0x7E) odd = true;
                into[written++] = c;
            }
            into[written++] = '.';
            cursor += 1 + length;
        }
    }

    private static bool SkipRecord(ReadOnlySpan<byte> packet, ref int pos, out ushort type, out int rdataStart, out int rdataLength)
    {
        type = 0;
        rdataStart = rdataLength = 0;
        Span<char> scratch = stackalloc char[DnsLimits.MaxName + 1];
        Span<byte> wireScratch = stackalloc byte[DnsLimits.MaxName + 1];
        if (ReadName(packet, ref pos, scratch, wireScratch, out _, out _) < 0) return false;
        if (pos + 10 > packet.Length) return false;
        type = BinaryPrimitives.ReadUInt16BigEndian(packet[pos..]);
        rdataLength = BinaryPrimitives.ReadUInt16BigEndian(packet[(pos + 8)..]);
        rdataStart = pos + 10;
        if (rdataStart + rdataLength > packet.Length) return false;
        pos = rdataStart + rdataLength;
        return true;
    }
}
