using Mesh.State.Text;
using Mesh.Agent.Config;
using Mesh.State;
using Mesh.State.Tables;

namespace Mesh.Agent.Queries;

/// <summary>What executing a prepared query produced.</summary>
/// <param name="Query">The query that ran: a template comes rendered for the name it was executed with.</param>
/// <param name="Nodes">The selected instances, each with its node and checks, in answer order (limit applied).</param>
/// <param name="DnsTtl">The query's <c>DNS.TTL</c>, or null when it sets none (the agent's default applies).</param>
/// <param name="Index">The highest index among the prepared-query table and the instances the answer depends on.</param>
internal sealed record PreparedQueryResult(PreparedQuery Query, IReadOnlyList<ServiceHealth> Nodes, TimeSpan? DnsTtl, ulong Index);

/// <summary>
/// Executes prepared queries as Consul does, for the HTTP API (<c>/v1/query/&lt;id or name&gt;/execute</c>) and DNS
/// (<c>&lt;name&gt;.query.consul</c>) alike. A pure function of a <see cref="StateView"/> and the injected
/// <see cref="Random"/>: no I/O, no locks, cheap enough for every DNS lookup.
/// </summary>
/// <remarks>
/// Resolution: by ID, then exact name, then the template with the longest matching name prefix (the empty-named
/// catch-all last); names ignore case. Selection: instances of <c>Service.Service</c> (or the Connect-capable ones
/// with <c>Service.Connect</c> or <c>connect</c>) lose any critical check, or any non-passing one with
/// <c>OnlyPassing</c>, except the checks in <c>IgnoreCheckIDs</c>; then <c>NodeMeta</c>, <c>ServiceMeta</c> and
/// <c>Tags</c> (all required; <c>!tag</c> forbidden; case-insensitive) filter. Order: shuffled. There are no network
/// coordinates, so <c>near</c> (or the query's <c>Near</c>) cannot sort by round-trip time: the instances on the named
/// node (<c>_agent</c>: this agent's, <c>_ip</c>: the node whose address is the caller's) come first and the rest stay
/// shuffled; an unknown node leaves the order shuffled. The limit applies last.
/// </remarks>
internal sealed class PreparedQueryExecutor
{
    /// <summary><c>near</c> value meaning the node of the agent that runs the query.</summary>
    public const string NearAgent = "_agent";

    /// <summary><c>near</c> value meaning the node whose address is the caller's.</summary>
    public const string NearIp = "_ip";

    private readonly Random _random;

    /// <summary>An executor that shuffles with <paramref name="random"/>, which must be safe for the callers' concurrency (<see cref="Random.Shared"/> is).</summary>
    public PreparedQueryExecutor(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        _random = random;
    }

    /// <summary>Resolves <paramref name="idOrName"/> in <paramref name="view"/> and runs the query.</summary>
    /// <param name="view">The state to answer from.</param>
    /// <param name="idOrName">A query ID, a query name, or a name a template's prefix matches.</param>
    /// <param name="agentNode">This agent's node name: what <c>_agent</c> means.</param>
    /// <param name="limit">Most instances to return; 0 or less for all.</param>
    /// <param name="near">A node name, <c>_agent</c> or <c>_ip</c> to put first; null or empty to use the query's <c>Near</c>.</param>
    /// <param name="connect">Select Connect-capable instances even when the query does not ask for them.</param>
    /// <param name="sourceAddress">The caller's IP address, for <c>_ip</c>; null when unknown.</param>
    /// <returns>The result, or null when no query matches <paramref name="idOrName"/>.</returns>
    /// <exception cref="PreparedQueryException"><paramref name="idOrName"/> is the ID of a template (templates resolve by name only).</exception>
    public PreparedQueryResult? Execute(StateView view, string idOrName, string agentNode, int limit = 0, string? near = null,
        bool connect = false, string? sourceAddress = null)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(idOrName);
        ArgumentNullException.ThrowIfNull(agentNode);
        var (queryIndex, query) = view.PreparedQueryResolve(idOrName);
        if (query is null) return null;

        var service = query.Service;
        var useConnect = service.Connect || connect;
        var (serviceIndex, entries) = useConnect ? view.ConnectHealth(service.Service) : view.ServiceHealth(service.Service);
        var selected = new List<ServiceHealth>(entries.Count);
        var (required, forbidden) = SplitTags(service.Tags);
        foreach (var e in entries)
        {
            if (Healthy(e, service) && MetaMatches(e.Node.Meta, service.NodeMeta) && MetaMatches(e.Service.Meta, service.ServiceMeta) &&
                TagsMatch(e.Service, required, forbidden))
                selected.Add(e);
        }

        Shuffle(selected);
        var nearNode = NearNode(view, string.IsNullOrEmpty(near) ? service.Near : near, agentNode, sourceAddress);
        if (nearNode is not null) MoveToFront(selected, nearNode);
        if (limit > 0 && selected.Count > limit) selected.RemoveRange(limit, selected.Count - limit);

        TimeSpan? ttl = query.DNS.TTL.Length > 0 && GoDuration.TryParse(query.DNS.TTL, out var d) ? d : null;
        return new PreparedQueryResult(query, selected, ttl, Math.Max(queryIndex, serviceIndex));
    }

    /// <summary>
    /// Consul's health rule for prepared queries: any critical check excludes the instance, and with
    /// <c>OnlyPassing</c> any check that is not passing does; checks in <c>IgnoreCheckIDs</c> do not count.
    /// </summary>
    private static bool Healthy(ServiceHealth e, ServiceQuery q)
    {
        foreach (var c in e.Checks)
        {
            if (q.IgnoreCheckIDs.Contains(c.CheckID)) continue;
            if (c.Status == HealthStatus.Critical || (q.OnlyPassing && c.Status != HealthStatus.Passing)) return false;
        }
        return true;
    }

    private static bool MetaMatches(IReadOnlyDictionary<string, string> meta, IReadOnlyDictionary<string, string> wanted)
    {
        foreach (var (key, value) in wanted)
            if (!meta.TryGetValue(key, out var v) || v != value) return false;
        return true;
    }

    /// <summary>Consul lower-cases a tag before looking for the <c>!</c>, so <c>!Tag</c> and <c>!tag</c> are one rule.</summary>
    private static (List<string> Required, List<string> Forbidden) SplitTags(IReadOnlyList<string> tags)
    {
        var (required, forbidden) = (new List<string>(), new List<string>());
        foreach (var t in tags)
        {
            var tag = t.ToLowerInvariant();
            if (tag.StartsWith('!')) forbidden.Add(tag[1..]);
            else required.Add(tag);
        }
        return (required, forbidden);
    }

    private static bool TagsMatch(ServiceInstance s, List<string> required, List<string> forbidden)
    {
        foreach (var tag in required)
            if (!HasTag(s, tag)) return false;
        foreach (var tag in forbidden)
            if (HasTag(s, tag)) return false;
        return true;
    }

    // A few tags per instance: a scan allocates nothing, unlike a set built per instance on every DNS lookup.
    private static bool HasTag(ServiceInstance s, string tag)
    {
        foreach (var t in s.Tags)
            if (string.Equals(t, tag, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private void Shuffle(List<ServiceHealth> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    /// <summary>The node <paramref name="near"/> names, or null when it names none.</summary>
    private static string? NearNode(StateView view, string near, string agentNode, string? sourceAddress)
    {
        switch (near)
        {
            case "":
                return null;
            case NearAgent:
                return agentNode;
            case NearIp:
                // Consul looks the caller's address up among the nodes, in name order, and sorts by nothing if none has it.
                if (string.IsNullOrEmpty(sourceAddress)) return null;
                return view.Nodes().FirstOrDefault(n => n.Address == sourceAddress)?.Name;
            default:
                return near;
        }
    }

    /// <summary>Moves the instances on <paramref name="node"/> to the front, keeping the shuffled order within both groups.</summary>
    private static void MoveToFront(List<ServiceHealth> list, string node)
    {
        var first = list.Where(e => e.Node.Name == node).ToList();
        if (first.Count == 0) return;
        var rest = list.Where(e => e.Node.Name != node).ToList();
        list.Clear();
        list.AddRange(first);
        list.AddRange(rest);
    }
}
