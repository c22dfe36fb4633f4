using System.Buffers.Binary;

namespace Mesh.Agent.Dns.Wire;

/// <summary>
/// Encodes one DNS message into a buffer it owns (64 KiB, enough for any message), with RFC 1035 §4.1.4 name compression.
/// Every name suffix written is remembered with a case-insensitive hash; a later name reuses the longest suffix already
/// in the message through a pointer. One writer serves one thread at a time and is reused for every message it writes.
/// </summary>
internal sealed class DnsMessageWriter
{
    private const int MaxSuffixes = 256;
    private const int PointerLimit = 0x3FFF;
    private readonly byte[] _buffer = new byte[DnsLimits.MaxMessage];
    private readonly int[] _suffixOffsets = new int[MaxSuffixes];
    private readonly int[] _suffixHashes = new int[MaxSuffixes];
    private int _suffixes;
    private int _pos;

    /// <summary>Whether names are compressed (<c>dns_config.disable_compression</c> turns it off).</summary>
    public bool Compress { get; set; } = true;

    /// <summary>Bytes written so far.</summary>
    public int Length => _pos;

    /// <summary>Set when a write did not fit; the message is then unusable.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>The message written so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _pos);

    /// <summary>The message written so far, as memory (for asynchronous sends).</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _pos);

    /// <summary>Starts a message: a header with all counts zero.</summary>
    public void Begin(ushort id, ushort flags)
    {
        _pos = 0;
        _suffixes = 0;
        Overflowed = false;
        U16(id);
        U16(flags);
        U16(0);
        U16(0);
        U16(0);
        U16(0);
    }

    /// <summary>Goes back to <paramref name="length"/> bytes, forgetting names written after it.</summary>
    public void Rewind(int length)
    {
        _pos = length;
        Overflowed = false;
        while (_suffixes > 0 && _suffixOffsets[_suffixes - 1] >= length) _suffixes--;
    }

    /// <summary>Replaces the header's flag word.</summary>
    public void SetFlags(ushort flags) => BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(2), flags);

    /// <summary>The header's flag word.</summary>
    public ushort Flags => BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(2));

    /// <summary>Sets the four section counts.</summary>
    public void SetCounts(int questions, int answers, int authority, int additional)
    {
        var h = _buffer.AsSpan(4);
        BinaryPrimitives.WriteUInt16BigEndian(h, (ushort)questions);
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)answers);
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)authority);
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)additional);
    }

    /// <summary>Writes the question section's single entry.</summary>
    public void Question(ReadOnlySpan<byte> nameWire, ushort type, ushort cls)
    {
        Name(nameWire);
        U16(type);
        U16(cls);
    }

    /// <summary>Writes one record; a null owner means the question name (a pointer to offset 12).</summary>
    public void Record(DnsRecord r, ReadOnlySpan<byte> questionWire, uint serial)
    {
        Name(r.OwnerWire ?? questionWire);
        U16(r.Type);
        U16(1);
        U32(r.Ttl);
        var lengthAt = _pos;
        U16(0);
        var start = _pos;
        switch (r.Type)
        {
            case DnsType.A or DnsType.AAAA:
                Bytes(r.Address!);
                break;
            case DnsType.CNAME or DnsType.PTR or DnsType.NS:
                Name(r.TargetWire!);
                break;
            case DnsType.SRV:
                U16(r.Priority);
                U16(r.Weight);
                U16(r.Port);
                // RFC 2782 forbids compressing the target; resolvers that follow RFC 3597 may not expand it.
                Bytes(r.TargetWire!);
                break;
            case DnsType.TXT:
                var text = r.Text!.AsSpan();
                if (text.Length == 0) U8(0);
                while (text.Length > 0)
                {
                    var chunk = Math.Min(255, text.Length);
                    U8((byte)chunk);
                    Bytes(text[..chunk]);
                    text = text[chunk..];
                }
                break;
            case DnsType.SOA:
                Name(r.TargetWire!);
                Name(r.MailboxWire!);
                U32(serial);
                U32(r.Refresh);
                U32(r.Retry);
                U32(r.Expire);
                U32(r.MinTtl);
                break;
            default:
                throw new InvalidOperationException($"record type {r.Type} has no encoder");
        }
        if (!Overflowed) BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(lengthAt), (ushort)(_pos - start));
    }

    /// <summary>Writes an OPT pseudo-record (RFC 6891) with the extended rcode bits and an optional client-subnet echo.</summary>
    public void Opt(int udpSize, int rcode, bool dnssecOk, (ushort Family, byte SourcePrefix, byte[] Address)? subnet, byte scopePrefix)
    {
        U8(0);
        U16(DnsType.OPT);
        U16((ushort)udpSize);
        U8((byte)(rcode >> 4));
        U8(0);
        U16(dnssecOk ? (ushort)0x8000 : (ushort)0);
        if (subnet is { } s)
        {
            U16((ushort)(8 + s.Address.Length));
            U16(8);
            U16((ushort)(4 + s.Address.Length));
            U16(s.Family);
            U8(s.SourcePrefix);
            U8(scopePrefix);
            Bytes(s.Address);
        }
        else
        {
            U16(0);
        }
    }

    /// <summary>Writes a name, pointing at the longest suffix already in the message when compressing.</summary>
    public void Name(ReadOnlySpan<byte> wire)
    {
        Span<int> starts = stackalloc int[128];
        var n = 0;
        for (var p = 0; p < wire.Length && wire[p] != 0; p += wire[p] + 1)
        {
            if (n == starts.Length) { Overflowed = true; return; }
            starts[n++] = p;
        }
        if (!Compress || n == 0)
        {
            Bytes(wire[..(n == 0 ? 1 : starts[n - 1] + wire[starts[n - 1]] + 2)]);
            return;
        }
        Span<int> hashes = stackalloc int[n + 1];
        hashes[n] = 0;
        for (var i = n - 1; i >= 0; i--)
            hashes[i] = HashCode.Combine(LabelHash(wire.Slice(starts[i] + 1, wire[starts[i]])), hashes[i + 1]);

        var found = -1;
        var foundAt = n;
        for (var i = 0; i < n && found < 0; i++)
        {
            for (var e = 0; e < _suffixes; e++)
            {
                if (_suffixHashes[e] != hashes[i] || !SuffixEquals(_suffixOffsets[e], wire, starts[..n], i)) continue;
                found = _suffixOffsets[e];
                foundAt = i;
                break;
            }
        }
        for (var i = 0; i < foundAt; i++)
        {
            if (_pos <= PointerLimit && _suffixes < MaxSuffixes)
            {
                _suffixOffsets[_suffixes] = _pos;
                _suffixHashes[_suffixes++] = hashes[i];
            }
            Bytes(wire.Slice(starts[i], wire[starts[i]] + 1));
        }
        if (found >= 0) U16((ushort)(0xC000 | found));
        else U8(0);
    }

    private bool SuffixEquals(int offset, ReadOnlySpan<byte> wire, ReadOnlySpan<int> starts, int from)
    {
        var p = offset;
        var j = from;
        for (var guard = 0; guard < 256; guard++)
        {
            var length = _buffer[p];
            if ((length & 0xC0) == 0xC0)
            {
                p = ((length & 0x3F) << 8) | _buffer[p + 1];
                continue;
            }
            if (length == 0) return j == starts.Length;
            if (j == starts.Length || wire[starts[j]] != length) return false;
            var mine = wire.Slice(starts[j] + 1, length);
            var theirs = _buffer.AsSpan(p + 1, length);
            for (var k = 0; k < length; k++)
                if (Lower(mine[k]) != Lower(theirs[k])) return false;
            p += length + 1;
            j++;
        }
        return false;
    }

    private static int LabelHash(ReadOnlySpan<byte> label)
    {
        var h = unchecked((int)2166136261);
        foreach (var b in label) h = unchecked((h ^ Lower(b)) * 16777619);
        return h;
    }

    private static byte Lower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    private void U8(byte v)
    {
        if (_pos + 1 > _buffer.Length) { Overflowed = true; return; }
        _buffer[_pos++] = v;
    }

    private void U16(ushort v)
    {
        if (_pos + 2 > _buffer.Length) { Overflowed = true; return; }
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_pos), v);
        _pos += 2;
    }

    private void U32(uint v)
    {
        if (_pos + 4 > _buffer.Length) { Overflowed = true; return; }
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(_pos), v);
        _pos += 4;
    }

    private void Bytes(ReadOnlySpan<byte> v)
    {
        if (_pos + v.Length > _buffer.Length) { Overflowed = true; return; }
        v.CopyTo(_buffer.AsSpan(_pos));
        _pos += v.Length;
    }
}
