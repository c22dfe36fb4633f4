using Mesh.Connect.Entries;

namespace Mesh.Connect.DiscoveryChain;

/// <summary>
/// Compiles a service's discovery chain from its config entries, as Consul does. For an HTTP-like service: its router
/// (routes in order, then a catch-all to the service itself), splitters (a split to a service that has a splitter of its
/// own is flattened by multiplying weights) and resolvers (default subset, redirects followed, failover targets). A TCP
/// service gets its resolver only. A pure function of the request and the entries.
/// </summary>
public static class ChainCompiler
{
    /// <summary>Consul's connect timeout when no resolver sets one.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How many redirects are followed before a chain is refused as a loop.</summary>
    private const int MaxRedirects = 32;

    /// <summary>Compiles the chain for <paramref name="request"/>.</summary>
    /// <exception cref="ChainCompileException">A redirect loop, or a reference to a subset that does not exist.</exception>
    public static CompiledChain Compile(ChainRequest request, ChainEntries entries)
    {
        var c = new Compilation(request, entries);
        var protocol = request.OverrideProtocol is { Length: > 0 } p ? p.ToLowerInvariant() : entries.Protocol(request.Service);
        var start = ChainEntries.IsHttpLike(protocol)
            ? c.RouterOrNext(request.Service)
            : c.ResolverNode(request.Service, "");
        var isDefault = c.Nodes.Count == 1 && c.Nodes[start] is { Type: "resolver", Resolver.Default: true };
        return new CompiledChain(request.Service, ChainRequest.Namespace, request.Datacenter, protocol, start,
            new SortedDictionary<string, ChainNode>(c.Nodes, StringComparer.Ordinal),
            new SortedDictionary<string, ChainTarget>(c.Targets, StringComparer.Ordinal), isDefault);
    }

    /// <summary>The target ID of a subset of a service: <c>[subset.]service.namespace.datacenter</c>.</summary>
    public static string TargetId(string service, string subset, string datacenter) =>
        subset.Length > 0 ? $"{subset}.{service}.{ChainRequest.Namespace}.{datacenter}" : $"{service}.{ChainRequest.Namespace}.{datacenter}";

    /// <summary>The SNI (and Envoy cluster name) of a target: its ID, <c>internal</c>, and the trust domain.</summary>
    public static string Sni(string targetId, string trustDomain) => $"{targetId}.internal.{trustDomain}";

    private sealed class Compilation(ChainRequest request, ChainEntries entries)
    {
        public Dictionary<string, ChainNode> Nodes { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, ChainTarget> Targets { get; } = new(StringComparer.Ordinal);

        /// <summary>The router of <paramref name="service"/> if it has one, else what a request for it goes to next.</summary>
        public string RouterOrNext(string service)
        {
            var router = entries.Router(service);
            if (router is null) return SplitterOrResolver(service, "");
            var name = "router:" + service;
            if (Nodes.ContainsKey(name)) return name;
            // Reserve the name first: a route back to this service ends at its splitter or resolver, never here again.
            Nodes[name] = new ChainNode("router", service);
            var routes = new List<ChainRoute>();
            foreach (var route in router.Routes ?? [])
            {
                var destination = route.Destination ?? new RouteDestination();
                var target = destination.Service.Length > 0 ? destination.Service : service;
                routes.Add(new ChainRoute(route, SplitterOrResolver(target, destination.ServiceSubset)));
            }
            // Whatever no route matched goes to the service itself.
            var catchAll = new RouterRoute
            {
                Match = new RouteMatch { HTTP = new RouteHttpMatch { PathPrefix = "/" } },
                Destination = new RouteDestination { Service = service },
            };
            routes.Add(new ChainRoute(catchAll, SplitterOrResolver(service, "")));
            Nodes[name] = new ChainNode("router", service, Routes: routes);
            return name;
        }

        /// <summary>A request for a service (and maybe a subset): its splitter when no subset is named, else its resolver.</summary>
        public string SplitterOrResolver(string service, string subset)
        {
            if (subset.Length == 0 && entries.Splitter(service) is { } splitter && ChainEntries.IsHttpLike(ProtocolOf(service)))
            {
                var name = "splitter:" + service;
                if (Nodes.ContainsKey(name)) return name;
                var splits = Balance(Flatten(splitter, 1.0, [service]).ToList());
                Nodes[name] = new ChainNode("splitter", service, Splits: splits);
                return name;
            }
            return ResolverNode(service, subset);
        }

        private string ProtocolOf(string service) =>
            service == request.Service && request.OverrideProtocol is { Length: > 0 } p ? p.ToLowerInvariant() : entries.Protocol(service);

        /// <summary>
        /// A splitter's shares, with any share to another service that has its own splitter (and names no subset)
        /// replaced by that splitter's shares scaled by the share's weight.
        /// </summary>
        private IEnumerable<ChainSplit> Flatten(ServiceSplitterEntry splitter, double scale, HashSet<string> visiting)
        {
            foreach (var split in splitter.Splits ?? [])
            {
                var service = split.Service.Length > 0 ? split.Service : splitter.Name;
                var weight = Math.Round(split.Weight * scale, 2);
                if (split.ServiceSubset.Length == 0 && service != splitter.Name && entries.Splitter(service) is { } inner && visiting.Add(service))
                {
                    foreach (var s in Flatten(inner, split.Weight * scale / 100, visiting))
                        yield return s with { RequestHeaders = s.RequestHeaders ?? split.RequestHeaders, ResponseHeaders = s.ResponseHeaders ?? split.ResponseHeaders };
                    visiting.Remove(service);
                    continue;
                }
                yield return new ChainSplit(weight, ResolverNode(service, split.ServiceSubset), split.RequestHeaders, split.ResponseHeaders);
            }
        }

        /// <summary>
        /// Makes the shares add up to exactly 100.00: flattening multiplies weights, and their two-decimal roundings can
        /// miss by a hundredth or two. Envoy wants weights (in hundredths of a percent) that sum to exactly 10,000, so
        /// the difference goes to the largest share, where it matters least.
        /// </summary>
        private static List<ChainSplit> Balance(List<ChainSplit> splits)
        {
            if (splits.Count == 0) return splits;
            var residue = Math.Round(100 - splits.Sum(s => s.Weight), 2);
            if (residue == 0) return splits;
            var largest = splits.IndexOf(splits.MaxBy(s => s.Weight)!);
            splits[largest] = splits[largest] with { Weight = Math.Round(splits[largest].Weight + residue, 2) };
            return splits;
        }

        /// <summary>The resolver node for a subset of a service, after the default subset and redirects are applied.</summary>
        public string ResolverNode(string service, string subset)
        {
            var seen = new HashSet<(string, string)>();
            for (var hop = 0; ; hop++)
            {
                if (hop > MaxRedirects || !seen.Add((service, subset)))
                    throw new ChainCompileException($"detected circular resolver redirect at {TargetId(service, subset, request.Datacenter)}");
                var resolver = entries.Resolver(service);
                if (resolver?.Redirect is { } redirect && (redirect.Service.Length > 0 || redirect.ServiceSubset.Length > 0))
                {
                    service = redirect.Service.Length > 0 ? redirect.Service : service;
                    subset = redirect.ServiceSubset;
                    continue;
                }
                if (subset.Length == 0 && resolver?.DefaultSubset is { Length: > 0 } defaultSubset) subset = defaultSubset;
                return Resolver(service, subset, resolver);
            }
        }

        private string Resolver(string service, string subset, ServiceResolverEntry? resolver)
        {
            var targetId = Target(service, subset, request.Datacenter, resolver);
            var name = "resolver:" + targetId;
            if (Nodes.ContainsKey(name)) return name;
            var connectTimeout = ConnectTimeout(resolver);
            List<string>? failover = null;
            if (resolver?.Failover is { } failovers && (failovers.GetValueOrDefault(subset) ?? failovers.GetValueOrDefault("*")) is { } f)
            {
                failover = [];
                var failService = f.Service.Length > 0 ? f.Service : service;
                var failSubset = f.Service.Length > 0 || f.ServiceSubset.Length > 0 ? f.ServiceSubset : subset;
                foreach (var dc in f.Datacenters is { Count: > 0 } dcs ? dcs : [])
                    failover.Add(Target(failService, failSubset, dc, entries.Resolver(failService)));
                foreach (var t in f.Targets ?? [])
                {
                    var ts = t.Service.Length > 0 ? t.Service : service;
                    failover.Add(Target(ts, t.ServiceSubset, t.Datacenter.Length > 0 ? t.Datacenter : request.Datacenter, entries.Resolver(ts)));
                }
                if (f.Datacenters is not { Count: > 0 } && f.Targets is not { Count: > 0 })
                    failover.Add(Target(failService, failSubset, request.Datacenter, entries.Resolver(failService)));
                failover.RemoveAll(t => t == targetId);
            }
            Nodes[name] = new ChainNode("resolver", targetId,
                Resolver: new ChainResolver(connectTimeout, resolver?.RequestTimeout ?? TimeSpan.Zero, resolver is null, targetId, failover),
                LoadBalancer: resolver?.LoadBalancer);
            return name;
        }

        private TimeSpan ConnectTimeout(ServiceResolverEntry? resolver) =>
            request.OverrideConnectTimeout is { } o && o > TimeSpan.Zero ? o
            : resolver is { ConnectTimeout: var t } && t > TimeSpan.Zero ? t : DefaultConnectTimeout;

        private string Target(string service, string subset, string datacenter, ServiceResolverEntry? resolver)
        {
            var id = TargetId(service, subset, datacenter);
            if (Targets.ContainsKey(id)) return id;
            var definition = new ResolverSubset();
            if (subset.Length > 0)
            {
                if (resolver?.Subsets?.GetValueOrDefault(subset) is not { } found)
                    throw new ChainCompileException($"service \"{service}\" has no subset \"{subset}\"");
                definition = found;
            }
            Targets[id] = new ChainTarget(id, service, subset, ChainRequest.Namespace, datacenter, definition, ConnectTimeout(resolver),
                Sni(id, request.TrustDomain));
            return id;
        }
    }
}
