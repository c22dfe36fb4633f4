using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Rbac;

namespace Mesh.Sidecar.Http;

/// <summary>
/// Chooses the virtual host and the route of a request as Envoy does. The domain index of a route table is built once
/// per <see cref="RouteTableConfig"/> instance (a new RDS version is a new instance) and cached beside it.
/// </summary>
internal static class RouteMatcher
{
    private static readonly ConditionalWeakTable<RouteTableConfig, DomainIndex> Indexes = new();

    /// <summary>
    /// The virtual host for <paramref name="authority"/>: exact domain, then the longest <c>*.suffix</c>, then the
    /// longest <c>prefix*</c>, then <c>*</c>. Domains compare case-insensitively. When the authority carries a port and
    /// nothing but the catch-all matches it, the host without the port is tried before the catch-all, so a domain
    /// listed without its port still matches (Envoy's <c>strip_any_host_port</c>).
    /// </summary>
    public static VirtualHostConfig? SelectVirtualHost(RouteTableConfig table, string authority)
    {
        var index = Indexes.GetValue(table, static t => new DomainIndex(t));
        var host = authority.ToLowerInvariant();
        if (index.Find(host) is { } found) return found;
        var colon = PortSeparator(host);
        if (colon > 0 && index.Find(host[..colon]) is { } stripped) return stripped;
        return index.CatchAll;
    }

    /// <summary>The first route of <paramref name="host"/> whose path, headers and query parameters all match.</summary>
    public static RouteConfig? SelectRoute(VirtualHostConfig host, RequestView request)
    {
        var routes = host.Routes;
        for (var i = 0; i < routes.Length; i++)
        {
            if (Matches(routes[i].Match, request)) return routes[i];
        }

        return null;
    }

    /// <summary>Whether <paramref name="match"/> accepts the request.</summary>
    public static bool Matches(RouteMatchConfig match, RequestView request)
    {
        var path = request.Path;
        if (!PathMatches(match, path)) return false;
        var headers = match.Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            if (!RbacEvaluator.HeaderMatches(headers[i], request.GetHeader(headers[i].Name))) return false;
        }

        var query = match.QueryParameters;
        for (var i = 0; i < query.Length; i++)
        {
            var value = request.GetQueryParameter(query[i].Name);
            if (value is null) return false;
            if (query[i].Match is { } valueMatch && !valueMatch.Matches(value)) return false;
        }

        return true;
    }

    /// <summary>Path matching on the path without query, per the route's kind and case sensitivity.</summary>
    public static bool PathMatches(RouteMatchConfig match, string path)
    {
        var comparison = match.CaseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        switch (match.PathKind)
        {
            case PathMatchKind.Prefix:
                return path.StartsWith(match.Path, comparison);
            case PathMatchKind.Exact:
                return path.Equals(match.Path, comparison);
            case PathMatchKind.Regex:
                return match.PathRegex is { } regex && regex.IsMatch(path);
            case PathMatchKind.PathSeparatedPrefix:
                // The prefix must end at a segment boundary: "/api" matches "/api" and "/api/x", not "/apix".
                if (!path.StartsWith(match.Path, comparison)) return false;
                return path.Length == match.Path.Length || path[match.Path.Length] == '/' || path[match.Path.Length] == '?';
            default:
                return false;
        }
    }

    /// <summary>The index of the ':' before a port, or -1; IPv6 literals keep their colons inside brackets.</summary>
    private static int PortSeparator(string host)
    {
        var colon = host.LastIndexOf(':');
        if (colon < 0) return -1;
        var bracket = host.LastIndexOf(']');
        return colon > bracket ? colon : -1;
    }

    /// <summary>Domains of one route table, arranged for Envoy's lookup order.</summary>
    private sealed class DomainIndex
    {
        private readonly FrozenDictionary<string, VirtualHostConfig> _exact;
        private readonly (string Suffix, VirtualHostConfig Host)[] _suffixes;
        private readonly (string Prefix, VirtualHostConfig Host)[] _prefixes;

        public DomainIndex(RouteTableConfig table)
        {
            var exact = new Dictionary<string, VirtualHostConfig>(StringComparer.Ordinal);
            var suffixes = new List<(string, VirtualHostConfig)>();
            var prefixes = new List<(string, VirtualHostConfig)>();
            foreach (var host in table.VirtualHosts)
            {
                foreach (var raw in host.Domains)
                {
                    var domain = raw.ToLowerInvariant();
                    if (domain == "*") CatchAll ??= host;
                    else if (domain.StartsWith('*')) suffixes.Add((domain[1..], host));
                    else if (domain.EndsWith('*')) prefixes.Add((domain[..^1], host));
                    else exact.TryAdd(domain, host);
                }
            }

            _exact = exact.ToFrozenDictionary(StringComparer.Ordinal);
            // Longest wildcard first: Envoy prefers the most specific match; ties keep configuration order.
            _suffixes = [.. suffixes.Select((s, i) => (s, i)).OrderByDescending(x => x.s.Item1.Length).ThenBy(x => x.i).Select(x => x.s)];
            _prefixes = [.. prefixes.Select((s, i) => (s, i)).OrderByDescending(x => x.s.Item1.Length).ThenBy(x => x.i).Select(x => x.s)];
        }

        public VirtualHostConfig? CatchAll { get; }

        public VirtualHostConfig? Find(string host)
        {
            if (_exact.TryGetValue(host, out var exact)) return exact;
            foreach (var (suffix, vhost) in _suffixes)
            {
                // "*.foo.com" needs at least one character before ".foo.com".
                if (host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.Ordinal)) return vhost;
            }

            foreach (var (prefix, vhost) in _prefixes)
            {
                if (host.Length > prefix.Length && host.StartsWith(prefix, StringComparison.Ordinal)) return vhost;
            }

            return null;
        }
    }
}
