using System.Net;
using System.Net.Sockets;
using Mesh.Agent.Dns.Wire;
using Mesh.State;
using Mesh.State.Tables;

namespace Mesh.Agent.Dns;

// Service, Connect and prepared-query answers: healthy instances turned into SRV or address records.
internal sealed partial class DnsResolver
{
    /// <summary>How deep a CNAME that points back into the domain is followed inside the server.</summary>
    private const int MaxCnameDepth = 3;

    private DnsAnswer ServiceAnswer(Lookup ctx, string service, string? tag, bool connect)
    {
        var healthy = new List<ServiceHealth>();
        foreach (var name in SpellingsOf(ctx.View, service))
        {
            var (_, entries) = connect ? ctx.View.ConnectHealth(name) : ctx.View.ServiceHealth(name);
            foreach (var e in entries)
                if ((tag is null || HasTag(e.Service, tag)) && Healthy(e, ctx.Cfg.OnlyPassing)) healthy.Add(e);
        }
        if (healthy.Count == 0) return NameError(ctx);
        return InstanceAnswer(ctx, healthy, Seconds(ctx.Cfg.TtlForService(service)), nearNode: null, sourceSpecific: false);
    }

    private DnsAnswer PreparedQueryAnswer(Lookup ctx, string query)
    {
        if (_queries?.Execute(ctx.View, query) is not { } result || result.Nodes.Count == 0) return NameError(ctx);
        var ttl = result.Ttl ?? ctx.Cfg.TtlForService(result.Service);
        return InstanceAnswer(ctx, result.Nodes, Seconds(ttl), result.NearNode, sourceSpecific: true);
    }

    /// <summary>
    /// Service names are case-insensitive in DNS: the lower-cased question matches every registered spelling. The exact
    /// spelling is tried first so the common case costs one lookup.
    /// </summary>
    private static IEnumerable<string> SpellingsOf(StateView view, string service)
    {
        yield return service;
        foreach (var name in view.ServiceNames())
            if (name != service && string.Equals(name, service, StringComparison.OrdinalIgnoreCase)) yield return name;
    }

    private static bool HasTag(ServiceInstance s, string tag)
    {
        foreach (var t in s.Tags)
            if (string.Equals(t, tag, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Critical (or maintenance) checks always exclude an instance; with <paramref name="onlyPassing"/> warnings do too.</summary>
    internal static bool Healthy(ServiceHealth e, bool onlyPassing)
    {
        foreach (var c in e.Checks)
        {
            if (c.Status is HealthStatus.Critical or HealthStatus.Maintenance) return false;
            if (onlyPassing && c.Status != HealthStatus.Passing) return false;
        }
        return true;
    }

    /// <summary>The SRV weight: the instance's passing or warning weight by the worst of its checks.</summary>
    private static ushort Weight(ServiceHealth e)
    {
        var warning = false;
        foreach (var c in e.Checks)
        {
            if (c.ServiceName.Length != 0 && c.ServiceName != e.Service.Service) continue;
            if (c.Status is HealthStatus.Critical or HealthStatus.Maintenance) return 0;
            if (c.Status == HealthStatus.Warning) warning = true;
        }
        return (ushort)Math.Clamp(warning ? e.Service.Weights.Warning : e.Service.Weights.Passing, 0, ushort.MaxValue);
    }

    private DnsAnswer InstanceAnswer(Lookup ctx, IReadOnlyList<ServiceHealth> instances, uint ttl, string? nearNode, bool sourceSpecific)
    {
        var entries = new List<DnsEntry>();
        // Entries from the near node lead every response; the instances come ordered that way, so counting suffices.
        var pinned = 0;
        var pinning = nearNode is not null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        DnsEntry? firstCname = null;
        var nodeRecords = new Dictionary<string, (DnsRecord[] Meta, Dictionary<string, DnsRecord> Addresses)>(StringComparer.Ordinal);
        foreach (var e in instances)
        {
            if (ctx.Type == DnsType.SRV)
            {
                var port = e.Service.Port;
                var tuple = $"{e.Node.Name}:{Translate(e.Service.Address, Tagged(e.Service), DnsType.SRV)}:{port}";
                if (!seen.Add(tuple)) continue;
                if (InstanceRecords(ctx, e, ttl, nodeRecords) is { } srv) Add(srv, e);
                continue;
            }
            if (InstanceRecords(ctx, e, ttl, nodeRecords) is not { } entry) continue;
            // Instances sharing an address (one node, several ports) answer once.
            if (!seen.Add(Key(entry.Answers[0]))) continue;
            if (entry.Answers[0].Type == DnsType.CNAME) firstCname ??= entry;
            else Add(entry, e);
        }
        // A CNAME answers only when no instance had an address of the asked family.
        if (entries.Count == 0 && firstCname is not null) entries.Add(firstCname);
        if (entries.Count == 0) return NoData(ctx);
        return new DnsAnswer
        {
            Entries = [.. entries],
            Shuffle = true,
            Pinned = pinned,
            AddressLimited = ctx.Type != DnsType.SRV,
            SourceSpecific = sourceSpecific,
        };

        void Add(DnsEntry entry, ServiceHealth from)
        {
            entries.Add(entry);
            if (pinning && string.Equals(from.Node.Name, nearNode, StringComparison.OrdinalIgnoreCase)) pinned = entries.Count;
            else pinning = false;
        }
    }

    private static string Key(DnsRecord r) => r.Type switch
    {
        DnsType.A or DnsType.AAAA => $"{r.Type}:{Convert.ToHexString(r.Address!)}",
        _ => $"{r.Type}:{r.Target}",
    };

    /// <summary>The records of one instance, as Consul chooses them from the service's and the node's addresses.</summary>
    private DnsEntry? InstanceRecords(Lookup ctx, ServiceHealth e, uint ttl,
        Dictionary<string, (DnsRecord[] Meta, Dictionary<string, DnsRecord> Addresses)> nodeRecords)
    {
        var serviceAddr = Translate(e.Service.Address, Tagged(e.Service), ctx.Type);
        var nodeAddr = Translate(e.Node.Address, e.Node.TaggedAddresses, ctx.Type);
        if (serviceAddr.Length == 0 && nodeAddr.Length == 0) return null;
        var nodeIp = ParseIp(nodeAddr);
        var serviceIp = ParseIp(serviceAddr);
        var weight = Weight(e);
        var port = (ushort)Math.Clamp(e.Service.Port, 0, ushort.MaxValue);
        if (serviceAddr.Length == 0 && nodeIp is not null)
            return e.Node.Address != nodeAddr
                ? FromIp(ctx, e, nodeIp, ttl, weight, port, nodeRecords)
                : FromNode(ctx, e, nodeIp, ttl, weight, port, nodeRecords);
        if (serviceAddr.Length == 0) return FromHostname(ctx, e, nodeAddr, ttl, weight, port);
        if (serviceIp is not null) return FromIp(ctx, e, serviceIp, ttl, weight, port, nodeRecords);
        return FromHostname(ctx, e, serviceAddr, ttl, weight, port);
    }

    private DnsEntry? FromNode(Lookup ctx, ServiceHealth e, IPAddress ip, uint ttl, ushort weight, ushort port,
        Dictionary<string, (DnsRecord[] Meta, Dictionary<string, DnsRecord> Addresses)> nodeRecords)
    {
        if (!AcceptsFamily(ctx.Type, ip)) return null;
        if (ctx.Type != DnsType.SRV) return new DnsEntry([DnsRecord.Address4or6(null, ttl, Bytes(ip))], []);
        if (!DnsName.IsLabel(e.Node.Name)) return null;
        var target = NodeFqdn(e.Node.Name, ctx.Zone);
        var srv = DnsRecord.Srv(null, ttl, 1, weight, port, target);
        if (srv is null) return null;
        var (meta, addresses) = NodeExtras(ctx, e.Node, target, ttl, nodeRecords);
        if (!addresses.TryGetValue(target, out var address))
            addresses[target] = address = DnsRecord.Address4or6(target, ttl, Bytes(ip));
        return new DnsEntry([srv], [address, .. meta]);
    }

    private DnsEntry? FromIp(Lookup ctx, ServiceHealth e, IPAddress ip, uint ttl, ushort weight, ushort port,
        Dictionary<string, (DnsRecord[] Meta, Dictionary<string, DnsRecord> Addresses)> nodeRecords)
    {
        if (!AcceptsFamily(ctx.Type, ip)) return null;
        if (ctx.Type != DnsType.SRV) return new DnsEntry([DnsRecord.Address4or6(null, ttl, Bytes(ip))], []);
        var target = $"{Convert.ToHexStringLower(Bytes(ip))}.addr.{_datacenter}.{ctx.Zone}";
        var srv = DnsRecord.Srv(null, ttl, 1, weight, port, target);
        if (srv is null) return null;
        var meta = DnsName.IsLabel(e.Node.Name) ? NodeExtras(ctx, e.Node, NodeFqdn(e.Node.Name, ctx.Zone), ttl, nodeRecords).Meta : [];
        return new DnsEntry([srv], [DnsRecord.Address4or6(target, ttl, Bytes(ip)), .. meta]);
    }

    private DnsEntry? FromHostname(Lookup ctx, ServiceHealth e, string host, uint ttl, ushort weight, ushort port)
    {
        var fqdn = host.EndsWith('.') ? host : host + ".";
        var resolved = ResolveInside(ctx, fqdn, ttl);
        if (ctx.Type == DnsType.SRV)
            return DnsRecord.Srv(null, ttl, 1, weight, port, fqdn) is { } srv ? new DnsEntry([srv], resolved) : null;
        return DnsRecord.Pointer(DnsType.CNAME, null, ttl, fqdn) is { } cname ? new DnsEntry([cname, .. resolved], []) : null;
    }

    /// <summary>
    /// Follows a CNAME target that lies inside one of the agent's domains, so the answer carries its addresses.
    /// Targets outside are left to the asker's resolver, which follows CNAMEs itself.
    /// </summary>
    private DnsRecord[] ResolveInside(Lookup ctx, string fqdn, uint ttl)
    {
        var lower = fqdn.ToLowerInvariant();
        var zone = ZoneOf(lower);
        // Each hop counts: a service whose address names itself (or two that name each other) stops here.
        if (zone is null || ctx.Depth >= MaxCnameDepth) return [];
        var labels = lower.Length > zone.Length ? lower[..^(zone.Length + 1)] : "";
        var inner = Dispatch(ctx with { Type = DnsType.ANY, Zone = zone, Depth = ctx.Depth + 1 }, labels.Length == 0 ? [] : labels.Split('.'));
        var records = new List<DnsRecord>();
        foreach (var entry in inner.Entries)
            foreach (var r in entry.Answers)
                if (r.Type is DnsType.A or DnsType.AAAA or DnsType.CNAME)
                    records.Add(r.Type == DnsType.CNAME
                        ? DnsRecord.Pointer(DnsType.CNAME, fqdn, ttl, r.Target!)!
                        : DnsRecord.Address4or6(fqdn, ttl, r.Address!));
        return [.. records];
    }

    private (DnsRecord[] Meta, Dictionary<string, DnsRecord> Addresses) NodeExtras(Lookup ctx, Node node, string fqdn, uint ttl,
        Dictionary<string, (DnsRecord[] Meta, Dictionary<string, DnsRecord> Addresses)> cache)
    {
        if (cache.TryGetValue(node.Name, out var hit)) return hit;
        var made = (ctx.Cfg.NodeMetaTxt ? MetaTxt(fqdn, node, ttl) : [], new Dictionary<string, DnsRecord>(StringComparer.Ordinal));
        cache[node.Name] = made;
        return made;
    }

    /// <summary>A or AAAA fits the question: SRV, ANY, NS and TXT take either family, A and AAAA only their own.</summary>
    private static bool AcceptsFamily(ushort type, IPAddress ip)
    {
        var v4 = ip.AddressFamily == AddressFamily.InterNetwork || ip.IsIPv4MappedToIPv6;
        return type switch
        {
            DnsType.A => v4,
            DnsType.AAAA => !v4,
            DnsType.SRV or DnsType.ANY or DnsType.NS or DnsType.TXT => true,
            _ => false,
        };
    }

    private static IReadOnlyDictionary<string, string> Tagged(ServiceInstance s) =>
        s.TaggedAddresses.Count == 0 ? EmptyTags : s.TaggedAddresses.ToDictionary(p => p.Key, p => p.Value.Address, StringComparer.Ordinal);

    private static readonly IReadOnlyDictionary<string, string> EmptyTags = new Dictionary<string, string>();

    /// <summary>
    /// The address to use for a question type, as Consul picks it: an A question prefers a <c>lan_ipv4</c> tagged address,
    /// an AAAA question <c>lan_ipv6</c>, other types either; failing that, the plain address when its family (or a
    /// hostname) suits the question.
    /// </summary>
    private static string Translate(string address, IReadOnlyDictionary<string, string> tagged, ushort type)
    {
        var acceptV4 = type != DnsType.AAAA;
        var acceptV6 = type != DnsType.A;
        var any = type is not (DnsType.A or DnsType.AAAA);
        if (acceptV6 && tagged.TryGetValue("lan_ipv6", out var v6) && v6.Length > 0) return v6;
        if (acceptV4 && tagged.TryGetValue("lan_ipv4", out var v4) && v4.Length > 0) return v4;
        if (any) return address;
        var ip = ParseIp(address);
        if (ip is null) return address;
        var isV4 = ip.AddressFamily == AddressFamily.InterNetwork;
        return (isV4 && acceptV4) || (!isV4 && acceptV6) ? address : "";
    }

    private static IPAddress? ParseIp(string text) => text.Length > 0 && IPAddress.TryParse(text, out var ip) ? ip : null;
}
