using System.Net;
using System.Text;
using Mesh.Agent.Config;
using Mesh.Agent.Dns.Wire;
using Mesh.State;
using Mesh.State.Tables;

namespace Mesh.Agent.Dns;

/// <summary>
/// Turns a question into a <see cref="DnsAnswer"/> from one consistent view of the catalog, following Consul's DNS
/// forms: <c>node</c>, <c>service</c> (tag and RFC 2782 spellings), <c>connect</c>, <c>query</c>, <c>addr</c>, reverse
/// lookups under <c>arpa.</c>, and SOA/NS for the domain. A pure function of the view and the configuration, so its
/// answers can be cached until either changes.
/// </summary>
internal sealed partial class DnsResolver
{
    private readonly string _domain;
    private readonly string _altDomain;
    private readonly string _datacenter;
    private readonly string _serverNode;
    private readonly IPreparedQueryLookup? _queries;

    /// <param name="domain">The main domain, e.g. <c>consul.</c>.</param>
    /// <param name="altDomain">The alternate domain, or empty.</param>
    /// <param name="datacenter">This agent's datacenter.</param>
    /// <param name="serverNode">The node that serves this datacenter (named by NS records).</param>
    /// <param name="queries">Prepared-query execution, when available.</param>
    public DnsResolver(string domain, string altDomain, string datacenter, string serverNode, IPreparedQueryLookup? queries)
    {
        _domain = Fqdn(domain);
        _altDomain = altDomain.Length == 0 ? "" : Fqdn(altDomain);
        _datacenter = datacenter.ToLowerInvariant();
        _serverNode = serverNode;
        _queries = queries;
    }

    /// <summary>Whether <paramref name="domain"/> can be served: a valid name, not the root.</summary>
    public static bool IsValidDomain(string domain) => Fqdn(domain) is var d && d != "." && DnsName.ToWire(d) is not null;

    /// <summary>Answers <paramref name="name"/> (lower case, trailing dot) of type <paramref name="type"/>.</summary>
    public DnsAnswer Resolve(StateView view, DnsConfig cfg, string name, ushort type, bool oddLabel)
    {
        var zone = ZoneOf(name);
        if (zone is null)
        {
            if (name.EndsWith(".arpa.", StringComparison.Ordinal) || name == "arpa.") return Reverse(view, cfg, name, type);
            return cfg.Recursors.IsEmpty ? DnsAnswer.Code(DnsRcode.Refused) : DnsAnswer.Forward;
        }
        var ctx = new Lookup(view, cfg, zone, type);
        if (type is DnsType.AXFR or DnsType.IXFR) return DnsAnswer.Code(DnsRcode.NotImp);
        if (type == DnsType.SOA) return SoaAnswer(ctx);
        if (type == DnsType.NS) return NsAnswer(ctx);
        if (oddLabel) return NameError(ctx);
        var labels = name.AsSpan(0, name.Length - zone.Length).TrimEnd('.').ToString();
        var parts = labels.Length == 0 ? [] : labels.Split('.');
        return Dispatch(ctx, parts);
    }

    private DnsAnswer Dispatch(Lookup ctx, string[] parts)
    {
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            var label = parts[i];
            string[] before = parts[..i], after = parts[(i + 1)..];
            switch (label)
            {
                case "service":
                    return ServiceForm(ctx, before, after);
                case "connect":
                    return before.Length == 0 || !IsThisDatacenter(after) ? NameError(ctx) : ServiceAnswer(ctx, before[^1], tag: null, connect: true);
                case "ingress" or "virtual":
                    // There are no ingress gateways or virtual IPs in this version, so no such name exists.
                    return NameError(ctx);
                case "node":
                    // A node name may hold dots: every label before "node" is part of it.
                    return before.Length == 0 || !IsThisDatacenter(after) ? NameError(ctx) : NodeAnswer(ctx, string.Join('.', before));
                case "query":
                    return QueryForm(ctx, before, after);
                case "addr":
                    return AddrAnswer(ctx, before);
            }
            // SRV questions may leave out "service": _name._tag.consul.
            if (ctx.Type == DnsType.SRV && label.StartsWith('_')) return ServiceForm(ctx, parts[..(i + 1)], after);
        }
        return NameError(ctx);
    }

    private DnsAnswer ServiceForm(Lookup ctx, string[] parts, string[] suffix)
    {
        if (parts.Length == 0 || !IsThisDatacenter(suffix)) return NameError(ctx);
        if (parts.Length == 2 && parts[0].StartsWith('_') && parts[1].StartsWith('_'))
        {
            // RFC 2782: _service._protocol; _tcp means "no tag", anything else is a tag.
            var tag = parts[1][1..];
            return ServiceAnswer(ctx, parts[0][1..], tag == "tcp" ? null : tag, connect: false);
        }
        // Older form: [tag.]service, where the tag may itself hold dots.
        return ServiceAnswer(ctx, parts[^1], parts.Length >= 2 ? string.Join('.', parts[..^1]) : null, connect: false);
    }

    private DnsAnswer QueryForm(Lookup ctx, string[] parts, string[] suffix)
    {
        if (parts.Length == 0 || suffix.Length > 1) return NameError(ctx);
        if (suffix.Length == 1 && suffix[0] != _datacenter) return NameError(ctx);
        // _name._proto.query: the name may hold dots; the last label is the protocol and is ignored.
        var query = parts.Length >= 2 && parts[0].StartsWith('_') && parts[^1].StartsWith('_')
            ? string.Join('.', parts[..^1])[1..]
            : string.Join('.', parts);
        return PreparedQueryAnswer(ctx, query);
    }

    /// <summary>
    /// Whether the locality labels after the form (none, <c>&lt;dc&gt;</c>, or <c>&lt;dc&gt;.dc</c>) name this datacenter.
    /// Another datacenter, a peer (<c>&lt;peer&gt;.peer</c>) or malformed labels are names this agent cannot answer.
    /// </summary>
    private bool IsThisDatacenter(string[] suffix) => suffix.Length switch
    {
        0 => true,
        1 => suffix[0] == _datacenter,
        2 => suffix[1] == "dc" && suffix[0] == _datacenter,
        _ => false,
    };

    private string? ZoneOf(string name)
    {
        if (IsIn(name, _domain)) return _domain;
        if (_altDomain.Length > 0 && IsIn(name, _altDomain)) return _altDomain;
        return null;
    }

    private static bool IsIn(string name, string zone) =>
        name.Length == zone.Length ? name == zone
        : name.Length > zone.Length && name.EndsWith(zone, StringComparison.Ordinal) && name[name.Length - zone.Length - 1] == '.';

    private static string Fqdn(string name)
    {
        var lower = name.Trim().ToLowerInvariant();
        return lower.EndsWith('.') ? lower : lower + ".";
    }

    /// <summary>The node's canonical name: <c>&lt;node&gt;.node.&lt;dc&gt;.&lt;domain&gt;</c>.</summary>
    private string NodeFqdn(string node, string zone) => $"{node}.node.{_datacenter}.{zone}";

    private static uint Seconds(TimeSpan ttl) => (uint)Math.Clamp(ttl.TotalSeconds, 0, int.MaxValue);

    private DnsAnswer NameError(Lookup ctx) => new() { Rcode = DnsRcode.NxDomain, Authority = [Soa(ctx)] };

    private DnsAnswer NoData(Lookup ctx) => new() { Rcode = DnsRcode.NoError, Authority = [Soa(ctx)] };

    private static DnsRecord Soa(Lookup ctx) =>
        DnsRecord.Soa(ctx.Zone, "ns." + ctx.Zone, "hostmaster." + ctx.Zone, ctx.Cfg.SoaRefresh, ctx.Cfg.SoaRetry, ctx.Cfg.SoaExpire, ctx.Cfg.SoaMinTtl);

    private DnsAnswer SoaAnswer(Lookup ctx)
    {
        var (ns, glue) = NameServers(ctx);
        return new DnsAnswer { Entries = [new DnsEntry([Soa(ctx)], [])], Authority = ns, Additional = glue };
    }

    private DnsAnswer NsAnswer(Lookup ctx)
    {
        var (ns, glue) = NameServers(ctx);
        return new DnsAnswer { Entries = ns.Select(r => new DnsEntry([r], [])).ToArray(), Additional = glue };
    }

    /// <summary>
    /// NS records for the zone and their addresses. The servers of a datacenter answer for it; in this version that is
    /// the single dev server, this agent.
    /// </summary>
    private (DnsRecord[] Ns, DnsRecord[] Glue) NameServers(Lookup ctx)
    {
        var node = ctx.View.GetNode(_serverNode);
        if (node is null || !DnsName.IsLabel(node.Name)) return ([], []);
        var fqdn = NodeFqdn(node.Name, ctx.Zone).ToLowerInvariant();
        var ns = DnsRecord.Pointer(DnsType.NS, ctx.Zone, Seconds(ctx.Cfg.NodeTtl), fqdn);
        if (ns is null) return ([], []);
        var glue = IPAddress.TryParse(node.Address, out var ip)
            ? new[] { DnsRecord.Address4or6(fqdn, Seconds(ctx.Cfg.NodeTtl), Bytes(ip)) }
            : [];
        return ([ns], glue);
    }

    private static byte[] Bytes(IPAddress ip) =>
        ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4().GetAddressBytes() : ip.GetAddressBytes();

    /// <summary>RFC 1464 <c>key=value</c>, quoting the key's backquotes, equals signs and edge spaces with a backquote.</summary>
    internal static string EncodeKeyValue(string key, string value)
    {
        var sb = new StringBuilder(key.Length + value.Length + 4);
        var lead = key.Length - key.TrimStart(' ').Length;
        var trail = key.Trim(' ').Length == 0 ? 0 : key.Length - key.TrimEnd(' ').Length;
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c == '`') sb.Append("``");
            else if (c == '=') sb.Append("`=");
            else if (c == ' ' && (i < lead || i >= key.Length - trail)) sb.Append("` ");
            else sb.Append(c);
        }
        sb.Append('=');
        sb.Append(value.Replace("`", "``", StringComparison.Ordinal));
        return sb.ToString();
    }

    private DnsRecord[] MetaTxt(string owner, Node node, uint ttl) =>
        node.Meta.OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => DnsRecord.Txt(owner, ttl, m.Key.StartsWith("rfc1035-", StringComparison.OrdinalIgnoreCase) ? m.Value : EncodeKeyValue(m.Key, m.Value)))
            .ToArray();

    /// <summary>
    /// What one lookup reads from: the view, the settings, the zone the question used, the question type, and how many
    /// CNAMEs into the domain have been followed to get here (which bounds lookups that point back at themselves).
    /// </summary>
    private readonly record struct Lookup(StateView View, DnsConfig Cfg, string Zone, ushort Type, int Depth = 0);
}
