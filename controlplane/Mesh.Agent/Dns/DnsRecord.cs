using Mesh.Agent.Dns.Wire;

namespace Mesh.Agent.Dns;

/// <summary>
/// One resource record, ready to encode: names are held in wire form, built once when an answer is computed and reused
/// by every response served from the answer cache. A null <see cref="OwnerWire"/> means "the question name", which is
/// written as a pointer to the question so the answer echoes the asker's spelling.
/// </summary>
internal sealed class DnsRecord
{
    private DnsRecord(ushort type, string? owner, uint ttl)
    {
        Type = type;
        Owner = owner;
        OwnerWire = owner is null ? null : DnsName.ToWire(owner) ?? throw new ArgumentException($"not a DNS name: {owner}", nameof(owner));
        Ttl = ttl;
    }

    /// <summary>The record type.</summary>
    public ushort Type { get; }

    /// <summary>The owner name as text, or null for the question name.</summary>
    public string? Owner { get; }

    /// <summary>The owner name in wire form, or null for the question name.</summary>
    public byte[]? OwnerWire { get; }

    /// <summary>Time to live, seconds.</summary>
    public uint Ttl { get; }

    /// <summary>A or AAAA address bytes (4 or 16).</summary>
    public byte[]? Address { get; private init; }

    /// <summary>CNAME, PTR, NS or SRV target, and SOA primary server, as text.</summary>
    public string? Target { get; private init; }

    /// <summary><see cref="Target"/> in wire form.</summary>
    public byte[]? TargetWire { get; private init; }

    /// <summary>SRV priority, weight and port.</summary>
    public ushort Priority { get; private init; }

    /// <inheritdoc cref="Priority"/>
    public ushort Weight { get; private init; }

    /// <inheritdoc cref="Priority"/>
    public ushort Port { get; private init; }

    /// <summary>TXT payload (UTF-8, split into 255-byte character strings when written).</summary>
    public byte[]? Text { get; private init; }

    /// <summary>SOA responsible mailbox (wire form) and timers; the serial is the clock when written.</summary>
    public byte[]? MailboxWire { get; private init; }

    /// <inheritdoc cref="MailboxWire"/>
    public uint Refresh { get; private init; }

    /// <inheritdoc cref="MailboxWire"/>
    public uint Retry { get; private init; }

    /// <inheritdoc cref="MailboxWire"/>
    public uint Expire { get; private init; }

    /// <inheritdoc cref="MailboxWire"/>
    public uint MinTtl { get; private init; }

    /// <summary>An A or AAAA record (by the address length).</summary>
    public static DnsRecord Address4or6(string? owner, uint ttl, byte[] address) =>
        new(address.Length == 4 ? DnsType.A : DnsType.AAAA, owner, ttl) { Address = address };

    /// <summary>A record whose data is one name: CNAME, PTR or NS. Null when the target is not a DNS name.</summary>
    public static DnsRecord? Pointer(ushort type, string? owner, uint ttl, string target) =>
        DnsName.ToWire(target) is { } wire ? new(type, owner, ttl) { Target = target, TargetWire = wire } : null;

    /// <summary>An SRV record; null when the target is not a DNS name.</summary>
    public static DnsRecord? Srv(string? owner, uint ttl, ushort priority, ushort weight, ushort port, string target) =>
        DnsName.ToWire(target) is { } wire
            ? new(DnsType.SRV, owner, ttl) { Priority = priority, Weight = weight, Port = port, Target = target, TargetWire = wire }
            : null;

    /// <summary>A TXT record with one string.</summary>
    public static DnsRecord Txt(string? owner, uint ttl, string text) =>
        new(DnsType.TXT, owner, ttl) { Text = System.Text.Encoding.UTF8.GetBytes(text) };

    /// <summary>The SOA record of a zone.</summary>
    public static DnsRecord Soa(string zone, string primary, string mailbox, uint refresh, uint retry, uint expire, uint minTtl) =>
        new(DnsType.SOA, zone, minTtl)
        {
            Target = primary,
            TargetWire = DnsName.ToWire(primary)!,
            MailboxWire = DnsName.ToWire(mailbox)!,
            Refresh = refresh,
            Retry = retry,
            Expire = expire,
            MinTtl = minTtl,
        };
}
