using System.Globalization;
using System.Net;
using Mesh.Agent.Config;
using Mesh.Agent.Dns.Wire;
using Mesh.State;
using Mesh.State.Tables;

namespace Mesh.Agent.Dns;

// Node, addr and reverse (PTR) answers.
internal sealed partial class DnsResolver
{
    private DnsAnswer NodeAnswer(Lookup ctx, string name)
    {
        var node = FindNode(ctx.View, name);
        if (node is null) return NameError(ctx);
        // Consul answers other types of a node name with an empty NOERROR (and no SOA).
        if (ctx.Type is not (DnsType.ANY or DnsType.A or DnsType.AAAA or DnsType.TXT)) return DnsAnswer.Empty;
        var ttl = Seconds(ctx.Cfg.NodeTtl);
        var answers = new List<DnsRecord>();
        var extras = new List<DnsRecord>();
        if (ctx.Type != DnsType.TXT)
        {
            var address = Translate(node.Address, node.TaggedAddresses, ctx.Type);
            if (ParseIp(address) is { } ip)
            {
                if (AcceptsFamily(ctx.Type, ip)) answers.Add(DnsRecord.Address4or6(null, ttl, Bytes(ip)));
            }
            else if (address.Length > 0)
            {
                var fqdn = address.EndsWith('.') ? address : address + ".";
                if (DnsRecord.Pointer(DnsType.CNAME, null, ttl, fqdn) is { } cname)
                {
                    answers.Add(cname);
                    answers.AddRange(ResolveInside(ctx, fqdn, ttl));
                }
            }
        }
        if (ctx.Cfg.NodeMetaTxt || ctx.Type is DnsType.TXT or DnsType.ANY)
        {
            var meta = node.Meta.OrderBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => DnsRecord.Txt(null, ttl, m.Key.StartsWith("rfc1035-", StringComparison.OrdinalIgnoreCase) ? m.Value : EncodeKeyValue(m.Key, m.Value)));
            (ctx.Type is DnsType.TXT or DnsType.ANY ? answers : extras).AddRange(meta);
        }
        return new DnsAnswer { Entries = answers.Count == 0 && extras.Count == 0 ? [] : [new DnsEntry([.. answers], [.. extras])] };
    }

    /// <summary>Node names are case-insensitive in DNS; the exact spelling is tried first.</summary>
    private static Node? FindNode(StateView view, string name) =>
        view.GetNode(name) ?? view.Nodes().FirstOrDefault(n => string.Equals(n.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary><c>&lt;hex&gt;.addr.&lt;dc&gt;.&lt;domain&gt;</c>: the address spelled in hex, 8 digits for IPv4, 32 for IPv6.</summary>
    private DnsAnswer AddrAnswer(Lookup ctx, string[] parts)
    {
        if (parts.Length != 1 || parts[0].Length is not (8 or 32)) return NameError(ctx);
        byte[] bytes;
        try { bytes = Convert.FromHexString(parts[0]); }
        catch (FormatException) { return NameError(ctx); }
        var record = DnsRecord.Address4or6(null, Seconds(ctx.Cfg.NodeTtl), bytes);
        var wanted = bytes.Length == 4 ? DnsType.A : DnsType.AAAA;
        // Another type still gets the address, in the additional section, as Consul does.
        return ctx.Type == wanted || ctx.Type == DnsType.ANY
            ? new DnsAnswer { Entries = [new DnsEntry([record], [])] }
            : new DnsAnswer { Additional = [record] };
    }

    /// <summary>
    /// PTR lookups under <c>in-addr.arpa.</c> and <c>ip6.arpa.</c>: a node with the address names it, else a service
    /// instance with that service address names the service. Nothing found goes to the recursors, or is NXDOMAIN.
    /// </summary>
    private DnsAnswer Reverse(StateView view, DnsConfig cfg, string name, ushort type)
    {
        var ctx = new Lookup(view, cfg, _domain, type);
        var ip = FromArpa(name);
        if (ip is not null)
        {
            foreach (var node in view.Nodes())
            {
                if (ParseIp(node.Address) is not { } addr || !addr.Equals(ip) || !DnsName.IsLabel(node.Name)) continue;
                if (DnsRecord.Pointer(DnsType.PTR, null, 0, NodeFqdn(node.Name, _domain)) is { } ptr)
                    return new DnsAnswer { Entries = [new DnsEntry([ptr], [])] };
            }
            foreach (var service in view.ServiceNames().Order(StringComparer.Ordinal))
            {
                foreach (var (_, instance) in view.ServiceInstances(service).Instances)
                {
                    if (ParseIp(instance.Address) is not { } addr || !addr.Equals(ip)) continue;
                    if (DnsRecord.Pointer(DnsType.PTR, null, 0, $"{service}.service.{_datacenter}.{_domain}") is { } ptr)
                        return new DnsAnswer { Entries = [new DnsEntry([ptr], [])] };
                }
            }
        }
        return cfg.Recursors.IsEmpty ? NameError(ctx) : DnsAnswer.Forward;
    }

    /// <summary>The address a reverse name spells, or null when it is not a complete one.</summary>
    internal static IPAddress? FromArpa(string name)
    {
        const string v4 = ".in-addr.arpa.", v6 = ".ip6.arpa.";
        if (name.EndsWith(v4, StringComparison.Ordinal))
        {
            var octets = name[..^v4.Length].Split('.');
            if (octets.Length != 4) return null;
            var bytes = new byte[4];
            for (var i = 0; i < 4; i++)
            {
                if (!byte.TryParse(octets[3 - i], NumberStyles.None, CultureInfo.InvariantCulture, out bytes[i])) return null;
                if (octets[3 - i].Length > 1 && octets[3 - i][0] == '0') return null;
            }
            return new IPAddress(bytes);
        }
        if (name.EndsWith(v6, StringComparison.Ordinal))
        {
            var nibbles = name[..^v6.Length].Split('.');
            if (nibbles.Length != 32) return null;
            var bytes = new byte[16];
            for (var i = 0; i < 32; i++)
            {
                var n = nibbles[31 - i];
                if (n.Length != 1 || !Uri.IsHexDigit(n[0])) return null;
                var v = (byte)Convert.ToInt32(n, 16);
                bytes[i / 2] |= (byte)(i % 2 == 0 ? v << 4 : v);
            }
            return new IPAddress(bytes);
        }
        return null;
    }
}
