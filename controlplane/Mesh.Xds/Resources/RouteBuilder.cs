using System.Text.Json;
using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using Mesh.Connect.DiscoveryChain;
using Mesh.Connect.Entries;
using Mesh.Xds.ProxyCfg;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using RetryPolicy = Envoy.Config.Route.V3.RetryPolicy;
using RouteMatch = Envoy.Config.Route.V3.RouteMatch;

namespace Mesh.Xds.Resources;

/// <summary>
/// Builds a snapshot's route configurations (RDS): one per HTTP-like upstream (http, http2, grpc), named after the
/// upstream (<see cref="UpstreamSnapshot.Name"/>) in both modes — the sidecar's upstream listener and the proxyless
/// client's API listener both ask for that name. A pure function of the snapshot.
/// </summary>
/// <remarks>
/// One virtual host (<c>*</c>) whose routes come from the compiled chain: a router's routes in order (the compiler
/// appended the catch-all), each to a splitter (<c>weighted_clusters</c>, weights in hundredths of a percent, 10,000 in
/// all) or a resolver (the cluster named by its primary target's SNI, which is also the aggregate cluster's name when
/// the resolver fails over). A chain starting at a splitter or a resolver gets one catch-all <c>/</c> route.
/// </remarks>
internal static class RouteBuilder
{
    /// <summary>The route configurations, in upstream order; an upstream name already used is skipped.</summary>
    public static IReadOnlyList<RouteConfiguration> Build(ConfigSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var routes = new List<RouteConfiguration>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var upstream in snapshot.Upstreams)
        {
            if (!IsHttpLike(upstream.Protocol) || !names.Add(upstream.Name)) continue;
            routes.Add(ForUpstream(upstream));
        }
        return routes;
    }

    /// <summary>Whether an upstream of this protocol is routed at L7 (and so has a route configuration).</summary>
    public static bool IsHttpLike(string protocol) =>
        protocol.ToLowerInvariant() is "http" or "http2" or "grpc";

    /// <summary>The route configuration of one upstream, named after it.</summary>
    /// <exception cref="InvalidOperationException">The chain refers to a node or target it does not hold.</exception>
    public static RouteConfiguration ForUpstream(UpstreamSnapshot upstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        var chain = upstream.Chain;
        var host = new VirtualHost { Name = upstream.Name, Domains = { "*" } };
        var start = Node(upstream, chain.StartNode);
        if (start is { Type: "router", Routes: { } routerRoutes })
        {
            foreach (var route in routerRoutes) host.Routes.Add(RouterRoute(upstream, route));
        }
        else
        {
            // A splitter or a resolver: everything goes there.
            host.Routes.Add(new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = ActionFor(upstream, start, null) });
        }
        // Clusters arrive over CDS on the same stream; validating them here could reject a route that races its cluster.
        return new RouteConfiguration { Name = upstream.Name, VirtualHosts = { host }, ValidateClusters = false };
    }

    private static Route RouterRoute(UpstreamSnapshot upstream, ChainRoute chainRoute)
    {
        var definition = chainRoute.Definition;
        var destination = definition.Destination ?? new RouteDestination();
        var route = new Route
        {
            Match = Match(definition.Match?.HTTP),
            Route_ = ActionFor(upstream, Node(upstream, chainRoute.NextNode), destination),
        };
        if (destination.RequestHeaders is { } request) AddHeaders(request, route.RequestHeadersToAdd, route.RequestHeadersToRemove);
        if (destination.ResponseHeaders is { } response) AddHeaders(response, route.ResponseHeadersToAdd, route.ResponseHeadersToRemove);
        return route;
    }

    /// <summary>A router route's match: path (exact, prefix or regex; <c>/</c> prefix when none), headers, query, methods.</summary>
    internal static RouteMatch Match(RouteHttpMatch? http)
    {
        var match = new RouteMatch();
        if (http is null)
        {
            match.Prefix = "/";
            return match;
        }
        if (http.PathExact.Length > 0) match.Path = http.PathExact;
        else if (http.PathPrefix.Length > 0) match.Prefix = http.PathPrefix;
        else if (http.PathRegex.Length > 0) match.SafeRegex = new RegexMatcher { Regex = http.PathRegex };
        else match.Prefix = "/";

        foreach (var header in http.Header ?? []) match.Headers.Add(Header(header));
        if (http.Methods is { Count: > 0 } methods)
        {
            // Envoy has no method matcher: the :method pseudo-header matched against an alternation (as Consul does).
            var alternation = string.Join("|", methods.Select(m => System.Text.RegularExpressions.Regex.Escape(m.ToUpperInvariant())));
            match.Headers.Add(new HeaderMatcher { Name = ":method", StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = alternation } } });
        }
        foreach (var query in http.QueryParam ?? []) match.QueryParameters.Add(QueryParameter(query));
        return match;
    }

    /// <summary>A header match: present, exact, prefix, suffix or regex, optionally inverted.</summary>
    internal static HeaderMatcher Header(HeaderMatch header)
    {
        var matcher = new HeaderMatcher { Name = header.Name, InvertMatch = header.Invert };
        if (header.Exact.Length > 0) matcher.StringMatch = new StringMatcher { Exact = header.Exact };
        else if (header.Prefix.Length > 0) matcher.StringMatch = new StringMatcher { Prefix = header.Prefix };
        else if (header.Suffix.Length > 0) matcher.StringMatch = new StringMatcher { Suffix = header.Suffix };
        else if (header.Regex.Length > 0) matcher.StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = header.Regex } };
        // Present, or nothing given: the config entry validator admits a bare name as "present".
        else matcher.PresentMatch = true;
        return matcher;
    }

    private static QueryParameterMatcher QueryParameter(QueryParamMatch query)
    {
        var matcher = new QueryParameterMatcher { Name = query.Name };
        if (query.Exact.Length > 0) matcher.StringMatch = new StringMatcher { Exact = query.Exact };
        else if (query.Regex.Length > 0) matcher.StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = query.Regex } };
        else matcher.PresentMatch = true;
        return matcher;
    }

    /// <summary>
    /// Where a route leads: weighted clusters for a splitter, the resolver's cluster otherwise, with the router
    /// destination's rewrite, timeouts and retries (<paramref name="destination"/> is null for a chain without router).
    /// </summary>
    private static RouteAction ActionFor(UpstreamSnapshot upstream, ChainNode next, RouteDestination? destination)
    {
        var action = new RouteAction();
        switch (next.Type)
        {
            case "splitter":
                action.WeightedClusters = Weighted(upstream, next);
                break;
            case "resolver":
                action.Cluster = ClusterOf(upstream, next);
                AddHashPolicies(action, next.LoadBalancer);
                break;
            default:
                throw new InvalidOperationException($"upstream \"{upstream.Name}\": a route leads to {next.Type} node \"{next.Name}\"");
        }

        if (destination is null)
        {
            if (next.Resolver is { RequestTimeout: var t } && t > TimeSpan.Zero) action.Timeout = Duration.FromTimeSpan(t);
            return action;
        }
        if (destination.PrefixRewrite.Length > 0) action.PrefixRewrite = destination.PrefixRewrite;
        if (destination.RequestTimeout > TimeSpan.Zero) action.Timeout = Duration.FromTimeSpan(destination.RequestTimeout);
        else if (next.Resolver is { RequestTimeout: var t } && t > TimeSpan.Zero) action.Timeout = Duration.FromTimeSpan(t);
        if (destination.IdleTimeout > TimeSpan.Zero) action.IdleTimeout = Duration.FromTimeSpan(destination.IdleTimeout);
        if (Retry(destination) is { } retry) action.RetryPolicy = retry;
        return action;
    }

    /// <summary>
    /// A splitter's shares as weighted clusters: percent × 100, rounded (33.33 × 100 is 3332.999… in binary floating
    /// point), so the compiler's shares of exactly 100.00 add up to exactly 10,000. Zero shares are left out.
    /// </summary>
    private static WeightedCluster Weighted(UpstreamSnapshot upstream, ChainNode splitter)
    {
        var weighted = new WeightedCluster();
        foreach (var split in splitter.Splits ?? [])
        {
            var weight = (uint)Math.Round(split.Weight * 100, MidpointRounding.AwayFromZero);
            if (weight == 0) continue;
            var next = Node(upstream, split.NextNode);
            var cluster = new WeightedCluster.Types.ClusterWeight { Name = ClusterOf(upstream, next), Weight = weight };
            if (split.RequestHeaders is { } request) AddHeaders(request, cluster.RequestHeadersToAdd, cluster.RequestHeadersToRemove);
            if (split.ResponseHeaders is { } response) AddHeaders(response, cluster.ResponseHeadersToAdd, cluster.ResponseHeadersToRemove);
            weighted.Clusters.Add(cluster);
        }
        return weighted;
    }

    /// <summary>The cluster a resolver node's traffic goes to: its primary target's SNI (see <see cref="ClusterBuilder"/>).</summary>
    private static string ClusterOf(UpstreamSnapshot upstream, ChainNode node)
    {
        if (node is not { Type: "resolver", Resolver: { } resolver })
            throw new InvalidOperationException($"upstream \"{upstream.Name}\": a split leads to {node.Type} node \"{node.Name}\", not a resolver");
        return upstream.Chain.Targets.TryGetValue(resolver.Target, out var target) ? target.SNI
            : throw new InvalidOperationException($"upstream \"{upstream.Name}\": its chain names target \"{resolver.Target}\" but does not define it");
    }

    private static ChainNode Node(UpstreamSnapshot upstream, string name) =>
        upstream.Chain.Nodes.TryGetValue(name, out var node) ? node
            : throw new InvalidOperationException($"upstream \"{upstream.Name}\": its chain names node \"{name}\" but does not define it");

    /// <summary>
    /// Retries as Consul writes them: <c>connect-failure</c> for RetryOnConnectFailure, <c>retriable-status-codes</c>
    /// with the codes, then the RetryOn conditions; null when the destination asks for none of it.
    /// </summary>
    internal static RetryPolicy? Retry(RouteDestination destination)
    {
        var conditions = new List<string>();
        if (destination.RetryOnConnectFailure) conditions.Add("connect-failure");
        if (destination.RetryOnStatusCodes is { Count: > 0 }) conditions.Add("retriable-status-codes");
        foreach (var on in destination.RetryOn ?? []) if (!conditions.Contains(on)) conditions.Add(on);
        if (conditions.Count == 0 && destination.NumRetries <= 0) return null;
        var policy = new RetryPolicy { RetryOn = string.Join(",", conditions) };
        if (destination.NumRetries > 0) policy.NumRetries = (uint)destination.NumRetries;
        foreach (var code in destination.RetryOnStatusCodes ?? []) policy.RetriableStatusCodes.Add((uint)code);
        return policy;
    }

    /// <summary>
    /// Header changes: <c>Add</c> appends, <c>Set</c> overwrites, <c>Remove</c> removes; names in ordinal order so the
    /// output does not depend on how the entry was written.
    /// </summary>
    private static void AddHeaders(HeaderModifiers modifiers, ICollection<HeaderValueOption> add, ICollection<string> remove)
    {
        foreach (var (name, value) in (modifiers.Add ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
            add.Add(new HeaderValueOption { Header = new HeaderValue { Key = name, Value = value }, AppendAction = HeaderValueOption.Types.HeaderAppendAction.AppendIfExistsOrAdd });
        foreach (var (name, value) in (modifiers.Set ?? []).OrderBy(p => p.Key, StringComparer.Ordinal))
            add.Add(new HeaderValueOption { Header = new HeaderValue { Key = name, Value = value }, AppendAction = HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd });
        foreach (var name in modifiers.Remove ?? []) remove.Add(name);
    }

    /// <summary>
    /// A ring-hash or Maglev resolver's <c>HashPolicies</c> on the route (what the hash is computed from): a header, a
    /// cookie (generated when it has a TTL or is a session cookie), a query parameter, or the source IP.
    /// </summary>
    private static void AddHashPolicies(RouteAction action, LoadBalancerConfig? lb)
    {
        if (lb?.HashPolicies is not { Count: > 0 } policies) return;
        if (lb.Policy.ToLowerInvariant() is not ("ring_hash" or "maglev")) return;
        foreach (var p in policies)
        {
            if (p.ValueKind != JsonValueKind.Object) continue;
            var policy = new RouteAction.Types.HashPolicy { Terminal = Bool(p, "terminal") };
            if (Bool(p, "sourceip"))
            {
                policy.ConnectionProperties = new RouteAction.Types.HashPolicy.Types.ConnectionProperties { SourceIp = true };
            }
            else
            {
                var value = String(p, "fieldvalue");
                if (value.Length == 0) continue;
                switch (String(p, "field").ToLowerInvariant())
                {
                    case "header":
                        policy.Header = new RouteAction.Types.HashPolicy.Types.Header { HeaderName = value };
                        break;
                    case "query_parameter":
                        policy.QueryParameter = new RouteAction.Types.HashPolicy.Types.QueryParameter { Name = value };
                        break;
                    case "cookie":
                        var cookie = new RouteAction.Types.HashPolicy.Types.Cookie { Name = value };
                        if (Property(p, "cookieconfig") is { ValueKind: JsonValueKind.Object } config)
                        {
                            // A session cookie is one Envoy generates without an expiry: TTL zero.
                            if (Bool(config, "session")) cookie.Ttl = new Duration();
                            else if (GoDuration(Property(config, "ttl")) is { } ttl && ttl > TimeSpan.Zero) cookie.Ttl = Duration.FromTimeSpan(ttl);
                            if (String(config, "path") is { Length: > 0 } path) cookie.Path = path;
                        }
                        policy.Cookie = cookie;
                        break;
                    default:
                        continue;
                }
            }
            action.HashPolicy.Add(policy);
        }
    }

    /// <summary>A property of an object, its name matched without case or underscores.</summary>
    private static JsonElement? Property(JsonElement obj, string normalizedName)
    {
        foreach (var p in obj.EnumerateObject())
            if (p.Name.Replace("_", "").Equals(normalizedName, StringComparison.OrdinalIgnoreCase)) return p.Value;
        return null;
    }

    private static bool Bool(JsonElement obj, string name) => Property(obj, name) is { ValueKind: JsonValueKind.True };

    private static string String(JsonElement obj, string name) =>
        Property(obj, name) is { ValueKind: JsonValueKind.String } s ? s.GetString() ?? "" : "";

    private static TimeSpan? GoDuration(JsonElement? value)
    {
        if (value is not { } v) return null;
        try
        {
            return JsonSerializer.Deserialize<TimeSpan>(v.GetRawText(), ConfigEntryJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
