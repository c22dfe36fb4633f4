using System.Text.Json;

namespace Mesh.Connect.Entries;

/// <summary>
/// The config entries as a graph of discovery chains, walked the way Consul's chain compiler walks them, to answer
/// one question before a write: does every chain the write can change still compile? A walk records what the compiler
/// would refuse (protocols that differ along a chain, routers or splitters on a non-HTTP chain, a subset that does not
/// exist, redirect loops, splitters that split back into themselves) and the services whose entries it read, so that
/// a write is refused only for chains it actually reaches. It does not build the compiled chain; that is the discovery
/// chain compiler's job.
/// </summary>
internal sealed class EntryGraph
{
    private readonly Dictionary<(string Kind, string Name), ConfigEntry> _entries;
    private readonly string _datacenter;
    private readonly Dictionary<string, ChainWalk> _walks = new(StringComparer.Ordinal);

    public EntryGraph(IReadOnlyList<ConfigEntry> entries, string datacenter)
    {
        _entries = new Dictionary<(string, string), ConfigEntry>(entries.Count);
        foreach (var e in entries) _entries[(e.Kind, e.Name)] = e;
        _datacenter = datacenter;
    }

    private EntryGraph(Dictionary<(string, string), ConfigEntry> entries, string datacenter)
    {
        _entries = entries;
        _datacenter = datacenter;
    }

    /// <summary>
    /// Refuses the change of <paramref name="kind"/>/<paramref name="name"/> to <paramref name="next"/> (null: a
    /// delete) if a chain it reaches would no longer compile, or an L7 intention would sit on a non-HTTP service.
    /// The entry's own chain is judged first, then the others in name order, then intentions in name order, so the
    /// same change always reports the same problem.
    /// </summary>
    /// <exception cref="ConfigEntryException">The graph with the change is invalid.</exception>
    public void CheckChange(string kind, string name, ConfigEntry? next)
    {
        if (kind == EntryKinds.ServiceIntentions && next is null) return; // removing permissions never breaks a chain
        var proposed = new Dictionary<(string, string), ConfigEntry>(_entries);
        if (next is null) proposed.Remove((kind, name));
        else proposed[(kind, name)] = next;
        var after = new EntryGraph(proposed, _datacenter);

        // Proxy defaults can change any service's protocol; an intention is judged only against its own destination.
        var everything = kind == EntryKinds.ProxyDefaults;
        bool Affected(string chain)
        {
            if (everything || chain == name) return true;
            if (kind == EntryKinds.ServiceIntentions) return false;
            // Reached now, or reached before the change (a redirect or split that went there and no longer does).
            return after.Walk(chain).Touched.Contains(name) || Walk(chain).Touched.Contains(name);
        }

        var chains = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var ((k, n), e) in proposed)
        {
            if (k is EntryKinds.ServiceRouter or EntryKinds.ServiceSplitter or EntryKinds.ServiceResolver) chains.Add(n);
            else if (e is ServiceIntentionsEntry i && HasL7(i)) chains.Add(n);
        }
        var order = new List<string>();
        if (!everything) order.Add(name);
        // An intention reaches no chain but its destination's.
        if (kind != EntryKinds.ServiceIntentions) order.AddRange(chains.Where(c => everything || c != name));
        foreach (var chain in order)
        {
            if (after.Walk(chain).Error is { } error && Affected(chain)) throw new ConfigEntryException(error);
        }

        foreach (var ((k, n), e) in proposed.OrderBy(p => p.Key.Item2, StringComparer.Ordinal))
        {
            if (k != EntryKinds.ServiceIntentions || e is not ServiceIntentionsEntry intentions || !HasL7(intentions) || !Affected(n)) continue;
            var walk = after.Walk(n);
            if (walk.Error is null && !EntryValidator.IsHttpLike(walk.Protocol))
                throw new ConfigEntryException($"service {EntryValidator.Quote(n)} has protocol {EntryValidator.Quote(walk.Protocol)}, which is incompatible with L7 intentions permissions");
        }
    }

    /// <summary>Intentions with L7 permissions on a named (not wildcard) destination: those need an HTTP-like protocol.</summary>
    private static bool HasL7(ServiceIntentionsEntry e) => e.Name != "*" && (e.Sources?.Any(s => s.Permissions is { Count: > 0 }) ?? false);

    /// <summary>The walk of <paramref name="chain"/>'s discovery chain (computed once per graph).</summary>
    public ChainWalk Walk(string chain)
    {
        if (!_walks.TryGetValue(chain, out var walk))
        {
            walk = new ChainWalk(this, chain);
            walk.Run();
            _walks[chain] = walk;
        }
        return walk;
    }

    private T? Get<T>(string kind, string name) where T : ConfigEntry => _entries.GetValueOrDefault((kind, name)) as T;

    /// <summary>
    /// A service's protocol as the compiler reads it: its service-defaults decide when they exist (an empty Protocol
    /// there is tcp), otherwise proxy-defaults' <c>Config.protocol</c>, otherwise tcp.
    /// </summary>
    public string ProtocolOf(string service)
    {
        if (Get<ServiceDefaultsEntry>(EntryKinds.ServiceDefaults, service) is { } defaults)
            return defaults.Protocol.Length == 0 ? "tcp" : defaults.Protocol.ToLowerInvariant();
        if (Get<ProxyDefaultsEntry>(EntryKinds.ProxyDefaults, ProxyDefaultsEntry.GlobalName)?.Config is { } config)
        {
            foreach (var (key, value) in config)
                if (key.Equals("protocol", StringComparison.OrdinalIgnoreCase) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } p)
                    return p.ToLowerInvariant();
        }
        return "tcp";
    }

    /// <summary>Where a chain resolves to: a service, a subset of it, a datacenter, or a cluster peer.</summary>
    private readonly record struct Target(string Service, string Subset, string Datacenter, string Peer)
    {
        /// <summary>Consul's target ID: <c>[subset.]service.namespace.datacenter</c> (peers: <c>...external.peer</c>).</summary>
        public string Id => (Subset.Length > 0 ? Subset + "." : "") + Service + ".default." + (Peer.Length > 0 ? "external." + Peer : Datacenter);
    }

    /// <summary>One chain walked as the compiler walks it; <see cref="Error"/> is what the compiler would refuse.</summary>
    internal sealed class ChainWalk(EntryGraph graph, string chain)
    {
        private const int MaxSplitterDepth = 256;
        private readonly Dictionary<string, List<string>> _edges = new(StringComparer.Ordinal);
        private readonly HashSet<string> _splitters = new(StringComparer.Ordinal);
        private readonly HashSet<string> _resolvers = new(StringComparer.Ordinal);
        private string? _protocol;
        private bool _advanced;
        private int _depth;

        /// <summary>Services whose entries the walk read (service-defaults, resolvers, splitters, the router).</summary>
        public HashSet<string> Touched { get; } = new(StringComparer.Ordinal);

        /// <summary>The chain's protocol (the first one recorded along it).</summary>
        public string Protocol => _protocol ?? "tcp";

        /// <summary>Why the chain would not compile, or null.</summary>
        public string? Error { get; private set; }

        public void Run()
        {
            try
            {
                Touched.Add(chain);
                string start;
                if (graph.Get<ServiceRouterEntry>(EntryKinds.ServiceRouter, chain) is { } router)
                {
                    _advanced = true;
                    RecordProtocol(chain);
                    start = "router:" + chain;
                    var next = _edges[start] = [];
                    foreach (var route in router.Routes ?? [])
                    {
                        var service = route.Destination is { Service.Length: > 0 } d ? d.Service : chain;
                        var subset = route.Destination?.ServiceSubset ?? "";
                        next.Add(subset.Length == 0 ? SplitterOrResolver(NewTarget(service, "")) : Resolver(NewTarget(service, subset), failover: false));
                    }
                    // The compiler appends a catch-all route to the router's own service.
                    next.Add(SplitterOrResolver(NewTarget(chain, "")));
                }
                else
                {
                    start = SplitterOrResolver(NewTarget(chain, ""));
                }
                DetectCycles(start);
                if (_advanced && !EntryValidator.IsHttpLike(Protocol))
                    Error = $"discovery chain {Q(chain)} uses a protocol {Q(Protocol)} that does not permit advanced routing or splitting behavior";
            }
            catch (ChainException ex)
            {
                Error = ex.Message;
            }
        }

        private Target NewTarget(string service, string subset) => new(service, subset, graph._datacenter, "");

        private void RecordProtocol(string service)
        {
            Touched.Add(service);
            var protocol = graph.ProtocolOf(service);
            if (_protocol is null) _protocol = protocol;
            else if (_protocol != protocol)
                throw new ChainException($"discovery chain {Q(chain)} uses inconsistent protocols; service {Q(service)} has {Q(protocol)} which is not {Q(_protocol)}");
        }

        private string SplitterOrResolver(Target target) => Splitter(target.Service) ?? Resolver(target, failover: false);

        private string? Splitter(string service)
        {
            var key = "splitter:" + service;
            if (_splitters.Contains(service)) return key;
            Touched.Add(service);
            if (graph.Get<ServiceSplitterEntry>(EntryKinds.ServiceSplitter, service) is not { } splitter) return null;
            // Recorded before recursing, so a split back into this splitter makes a cycle DetectCycles reports.
            _splitters.Add(service);
            // Splitters nest by recursion; a bound keeps a hostile graph from exhausting the stack.
            if (++_depth > MaxSplitterDepth) throw new ChainException($"discovery chain {Q(chain)} nests splitters more than {MaxSplitterDepth} deep");
            var next = _edges[key] = [];
            foreach (var split in splitter.Splits ?? [])
            {
                var to = split.Service.Length == 0 ? service : split.Service;
                if (to != service && split.ServiceSubset.Length == 0 && Splitter(to) is { } nested)
                {
                    next.Add(nested);
                    continue;
                }
                next.Add(Resolver(NewTarget(to, split.ServiceSubset), failover: false));
            }
            _depth--;
            _advanced = true;
            return key;
        }

        /// <summary>
        /// Follows redirects and the default subset to the target that serves, checks its subset exists, and walks
        /// its failover targets (which must compile too).
        /// </summary>
        private string Resolver(Target target, bool failover)
        {
            var history = new List<string>();
            while (true)
            {
                if (_resolvers.Contains(target.Id)) return "resolver:" + target.Id;
                if (target.Peer.Length == 0) RecordProtocol(target.Service);
                Touched.Add(target.Service);
                var resolver = graph.Get<ServiceResolverEntry>(EntryKinds.ServiceResolver, target.Service);
                if (history.Contains(target.Id))
                {
                    history.Add(target.Id);
                    throw new ChainException($"detected circular resolver redirect: [{string.Join(" -> ", history)}]");
                }
                history.Add(target.Id);
                if (resolver?.Redirect is { } r)
                {
                    var redirected = Rewrite(target, r.Service, r.ServiceSubset, r.Datacenter, r.Peer);
                    if (redirected.Id != target.Id)
                    {
                        target = redirected;
                        continue;
                    }
                }
                if (target.Subset.Length == 0 && resolver is { DefaultSubset.Length: > 0 })
                {
                    target = Rewrite(target, "", resolver.DefaultSubset, "", target.Peer);
                    continue;
                }
                if (target.Subset.Length > 0 && resolver?.Subsets?.ContainsKey(target.Subset) != true)
                    throw new ChainException($"service {Q(target.Service)} does not have a subset named {Q(target.Subset)}");
                if (graph.Get<ServiceDefaultsEntry>(EntryKinds.ServiceDefaults, target.Service) is { ExternalSNI.Length: > 0 } && resolver is not null)
                {
                    var what = resolver.Redirect is not null ? "redirects" : resolver.Subsets is { Count: > 0 } ? "subsets" : resolver.Failover is { Count: > 0 } ? "failover" : null;
                    if (what is not null)
                        throw new ChainException($"service {Q(target.Service)} has an external SNI set; cannot define {what} for external services");
                }
                var key = "resolver:" + target.Id;
                if (failover) return key;
                _resolvers.Add(target.Id);
                if (resolver?.Failover is { Count: > 0 } failovers &&
                    (failovers.TryGetValue(target.Subset, out var f) || failovers.TryGetValue("*", out f)))
                {
                    foreach (var alternative in FailoverTargets(target, f))
                        if (alternative.Id != target.Id) Resolver(alternative, failover: true);
                }
                return key;
            }
        }

        private IEnumerable<Target> FailoverTargets(Target target, ResolverFailover f)
        {
            if (f.Datacenters is { Count: > 0 } dcs)
                return dcs.Select(dc => Rewrite(target, f.Service, f.ServiceSubset, dc, ""));
            if (f.Targets is { Count: > 0 } targets)
                return targets.Select(t => Rewrite(target, t.Service, t.ServiceSubset, t.Datacenter, t.Peer));
            return [Rewrite(target, f.Service, f.ServiceSubset, "", "")];
        }

        /// <summary>
        /// Consul's <c>rewriteTarget</c>: another service drops the subset; given fields replace; the peer is always
        /// replaced, and a target that is not a peer's is always in a datacenter (this one unless named).
        /// </summary>
        private Target Rewrite(Target t, string service, string subset, string datacenter, string peer)
        {
            var (s, sub, dc) = (t.Service, t.Subset, t.Datacenter);
            if (service.Length > 0 && service != s)
            {
                s = service;
                sub = "";
            }
            if (subset.Length > 0) sub = subset;
            if (datacenter.Length > 0) dc = datacenter;
            if (peer.Length > 0) dc = "";
            else if (dc.Length == 0) dc = graph._datacenter;
            return new Target(s, sub, dc, peer);
        }

        /// <summary>
        /// Depth-first over routers and splitters; a node met again on the current path is a cycle, reported as the
        /// path that closed it. Nodes already explored are not explored again, so splitters that share
        /// destinations cost their number, not the number of paths through them.
        /// </summary>
        private void DetectCycles(string start)
        {
            var path = new List<string>();
            var onPath = new HashSet<string>(StringComparer.Ordinal);
            var done = new HashSet<string>(StringComparer.Ordinal);
            Visit(start);

            void Visit(string node)
            {
                if (done.Contains(node)) return;
                path.Add(node);
                if (!onPath.Add(node)) throw new ChainException($"detected circular reference: [{string.Join(" -> ", path)}]");
                foreach (var next in _edges.GetValueOrDefault(node) ?? []) Visit(next);
                onPath.Remove(node);
                path.RemoveAt(path.Count - 1);
                done.Add(node);
            }
        }

        private static string Q(string s) => EntryValidator.Quote(s);
    }

    private sealed class ChainException(string message) : Exception(message);
}
