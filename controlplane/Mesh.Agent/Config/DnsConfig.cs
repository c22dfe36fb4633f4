using System.Collections.Immutable;

namespace Mesh.Agent.Config;

/// <summary>
/// How the DNS interface answers: Consul's <c>dns_config</c> block plus the top-level <c>alt_domain</c> and
/// <c>recursors</c>. Defaults are Consul's.
/// </summary>
public sealed record DnsConfig
{
    /// <summary>A second domain answered like the main one (<c>alt_domain</c>); empty for none.</summary>
    public string AltDomain { get; init; } = "";

    /// <summary>Upstream resolvers (<c>host</c> or <c>host:port</c>) for names outside the domains; none means REFUSED.</summary>
    public ImmutableArray<string> Recursors { get; init; } = [];

    /// <summary>How long one upstream gets before the next is tried.</summary>
    public TimeSpan RecursorTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary><c>sequential</c> (in the order given) or <c>random</c>.</summary>
    public string RecursorStrategy { get; init; } = "sequential";

    /// <summary>Whether reads may be served by any server. A single dev server always has current data.</summary>
    public bool AllowStale { get; init; } = true;

    /// <summary>How stale a server's data may be before a read goes to the leader.</summary>
    public TimeSpan MaxStale { get; init; } = TimeSpan.FromHours(87600);

    /// <summary>TTL of node answers.</summary>
    public TimeSpan NodeTtl { get; init; } = TimeSpan.Zero;

    /// <summary>TTL of service answers by service name; a key ending in <c>*</c> is a prefix (<c>*</c> alone: every service).</summary>
    public ImmutableDictionary<string, TimeSpan> ServiceTtl { get; init; } = ImmutableDictionary<string, TimeSpan>.Empty;

    /// <summary>Set the TC bit when a UDP answer had to be cut, so clients retry over TCP.</summary>
    public bool EnableTruncate { get; init; }

    /// <summary>Leave out instances with a warning check too (critical ones are always left out).</summary>
    public bool OnlyPassing { get; init; }

    /// <summary>Most answers to a UDP query from a client without EDNS (further capped at 8).</summary>
    public int UdpAnswerLimit { get; init; } = 3;

    /// <summary>Most A/AAAA answers to a service query on any transport; 0 is unlimited.</summary>
    public int ARecordLimit { get; init; }

    /// <summary>Add node metadata as TXT records to the additional section of node and SRV answers.</summary>
    public bool NodeMetaTxt { get; init; } = true;

    /// <summary>Write every name in full instead of using compression pointers.</summary>
    public bool DisableCompression { get; init; }

    /// <summary>SOA refresh, seconds.</summary>
    public uint SoaRefresh { get; init; } = 3600;

    /// <summary>SOA retry, seconds.</summary>
    public uint SoaRetry { get; init; } = 600;

    /// <summary>SOA expire, seconds.</summary>
    public uint SoaExpire { get; init; } = 86400;

    /// <summary>SOA minimum TTL (also the negative-caching TTL), seconds.</summary>
    public uint SoaMinTtl { get; init; }

    /// <summary>The TTL of a service's answers: an exact entry first, then the longest matching <c>prefix*</c> entry.</summary>
    public TimeSpan TtlForService(string service)
    {
        if (ServiceTtl.Count == 0) return TimeSpan.Zero;
        if (ServiceTtl.TryGetValue(service, out var exact)) return exact;
        var best = -1;
        var ttl = TimeSpan.Zero;
        foreach (var (key, value) in ServiceTtl)
        {
            if (!key.EndsWith('*')) continue;
            var prefix = key.AsSpan(0, key.Length - 1);
            if (prefix.Length > best && service.AsSpan().StartsWith(prefix, StringComparison.Ordinal))
            {
                best = prefix.Length;
                ttl = value;
            }
        }
        return ttl;
    }
}
