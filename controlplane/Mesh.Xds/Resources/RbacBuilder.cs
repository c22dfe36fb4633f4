using System.Text.RegularExpressions;
using Envoy.Config.Rbac.V3;
using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.Xds.ProxyCfg;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;

namespace Mesh.Xds.Resources;

/// <summary>
/// Renders a destination's intentions into Envoy RBAC rules, as Consul's <c>agent/xds/rbac.go</c> does. Intentions are
/// an ordered list (first match decides, else the default policy); Envoy's RBAC is an unordered allow-list or
/// deny-list. The rendering removes the order: the list becomes an allow-list under default deny (a deny-list under
/// default allow), and each kept intention is ANDed with NOT of the more specific sources before it, so a source that
/// an earlier intention decides can never match a later one.
/// </summary>
/// <remarks>
/// Two deliberate differences from Consul, both so that Envoy decides exactly as <see cref="IntentionSet.Decide"/>
/// and <see cref="L7Permissions.Evaluate"/> do (the property test over random intention sets checks it):
/// <list type="bullet">
/// <item>An intention that comes after a wildcard-source intention is dropped: the wildcard decides every source that
/// reaches it. Consul only subtracts <em>more specific</em> earlier sources, so with <c>* → db deny</c> (precedence 8)
/// and <c>web → * allow</c> (6) under default deny its Envoy lets <c>web</c> in while its authorize API says no.</item>
/// <item>An inverted header match is rendered as <c>not_rule</c> around the header match, not as the header matcher's
/// <c>invert_match</c>: Envoy's <c>invert_match</c> still fails when the header is absent, while an intention's
/// inverted match (and <c>not_rule</c>) holds then.</item>
/// </list>
/// Header, path and method matches use <c>string_match</c> rather than the deprecated <c>exact_match</c>-style fields
/// Consul writes; the meaning is the same.
/// </remarks>
internal static class RbacBuilder
{
    /// <summary>The policy holding every L4 intention's principal.</summary>
    public const string Layer4Policy = "consul-intentions-layer4";

    /// <summary>The prefix of the per-source L7 policies (<c>consul-intentions-layer7-&lt;i&gt;</c>).</summary>
    public const string Layer7PolicyPrefix = "consul-intentions-layer7-";

    /// <summary>What matches any one path segment in a SPIFFE ID: a wildcard source, any trust domain, any datacenter.</summary>
    private const string AnySegment = "[^/]+";

    /// <summary>
    /// The network filter's RBAC for a TCP public listener (stat prefix <c>connect_authz</c>). L7 intentions count as
    /// deny here: a TCP service cannot evaluate their HTTP matches, and Consul treats them so.
    /// </summary>
    public static NetworkRbac Network(ConfigSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return new NetworkRbac { StatPrefix = "connect_authz", Rules = Rules(Applicable(snapshot), snapshot.DefaultAllow, http: false) };
    }

    /// <summary>The HTTP filter's RBAC for an HTTP-like public listener: L4 intentions and per-source L7 policies.</summary>
    public static HttpRbac Http(ConfigSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return new HttpRbac { Rules = Rules(Applicable(snapshot), snapshot.DefaultAllow, http: true) };
    }

    /// <summary>
    /// The snapshot's intentions whose destination is the local service or <c>*</c>. proxycfg hands over only those;
    /// checking again costs nothing and keeps another service's intention from ever deciding here.
    /// </summary>
    private static IReadOnlyList<IntentionRule> Applicable(ConfigSnapshot snapshot)
    {
        if (snapshot.Local is not { } local) return snapshot.Intentions;
        return snapshot.Intentions.All(r => r.Destination == local.Service || r.Destination == Precedence.Wildcard)
            ? snapshot.Intentions
            : snapshot.Intentions.Where(r => r.Destination == local.Service || r.Destination == Precedence.Wildcard).ToList();
    }

    /// <summary>
    /// The RBAC rules for one destination's intentions (exact and wildcard destination alike; the order is restored
    /// here, so callers may pass them in any order).
    /// </summary>
    /// <param name="intentions">The intentions whose destination is the local service or <c>*</c>.</param>
    /// <param name="defaultAllow">Whether a connection no intention matches is allowed.</param>
    /// <param name="http">Whether the listener speaks HTTP (L7 permissions can be evaluated).</param>
    public static RBAC Rules(IReadOnlyList<IntentionRule> intentions, bool defaultAllow, bool http)
    {
        ArgumentNullException.ThrowIfNull(intentions);
        var defaultAction = defaultAllow ? Decision.Allow : Decision.Deny;
        var kept = RemoveSourcePrecedence(Intermediate(intentions, http), defaultAction);

        var rules = new RBAC { Action = defaultAllow ? RBAC.Types.Action.Deny : RBAC.Types.Action.Allow };
        var layer4 = new List<Principal>();
        for (var i = 0; i < kept.Count; i++)
        {
            var rule = kept[i];
            if (rule.Action != Decision.Layer7)
            {
                layer4.Add(rule.Principal());
                continue;
            }
            var policy = new Policy { Principals = { rule.Principal() } };
            policy.Permissions.AddRange(rule.Permissions.Select(p => p.Computed()));
            rules.Policies.Add(Layer7PolicyPrefix + i, policy);
        }
        if (layer4.Count > 0)
            rules.Policies.Add(Layer4Policy, new Policy { Principals = { layer4 }, Permissions = { AnyPermission() } });
        return rules;
    }

    /// <summary>The SPIFFE ID pattern of a source: any trust domain and datacenter, namespace <c>default</c>.</summary>
    public static string SpiffePattern(string source) =>
        $"^spiffe://{AnySegment}/ns/default/dc/{AnySegment}/svc/{(source == Precedence.Wildcard ? AnySegment : Regex.Escape(source))}$";

    private enum Decision
    {
        Deny,
        Allow,
        Layer7,
    }

    /// <summary>An intention on its way to a policy: its source, the sources it must exclude, its permissions.</summary>
    private sealed class RbacIntention(string source, Decision action, List<RbacPermission> permissions)
    {
        public string Source { get; } = source;
        public Decision Action { get; } = action;
        public List<RbacPermission> Permissions { get; set; } = permissions;
        public List<string> NotSources { get; } = [];
        public bool Skip { get; set; }

        /// <summary>The source, ANDed with NOT of each excluded source (in the order they were collected, as Consul does).</summary>
        public Principal Principal()
        {
            if (NotSources.Count == 0) return IdPrincipal(Source);
            var and = new Principal.Types.Set { Ids = { IdPrincipal(Source) } };
            foreach (var not in NotSources) and.Ids.Add(new Principal { NotId = IdPrincipal(not) });
            return new Principal { AndIds = and };
        }
    }

    /// <summary>One L7 permission on its way to a policy: its match and the earlier matches it must exclude.</summary>
    private sealed class RbacPermission(Decision action, Permission match)
    {
        public Decision Action { get; } = action;
        public Permission Match { get; } = match;
        public List<Permission> NotMatches { get; } = [];
        public bool Skip { get; set; }

        public Permission Computed()
        {
            if (NotMatches.Count == 0) return Match;
            var parts = new List<Permission>(NotMatches.Count + 1) { Match };
            parts.AddRange(NotMatches.Select(n => new Permission { NotRule = n }));
            return AndPermissions(parts);
        }
    }

    /// <summary>
    /// Sorts by precedence, keeps the first intention of each source, stops after the first wildcard source (nothing
    /// after it can decide), and turns each into its action and permissions.
    /// </summary>
    private static List<RbacIntention> Intermediate(IReadOnlyList<IntentionRule> intentions, bool http)
    {
        var ordered = intentions.OrderBy(r => r, Comparer<IntentionRule>.Create(IntentionSet.Compare));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<RbacIntention>();
        foreach (var rule in ordered)
        {
            if (!seen.Add(rule.Source)) continue;
            result.Add(ToIntermediate(rule, http));
            if (rule.Source == Precedence.Wildcard) break;
        }
        return result;
    }

    private static RbacIntention ToIntermediate(IntentionRule rule, bool http)
    {
        if (!rule.IsL7) return new RbacIntention(rule.Source, ActionOf(rule.Action), []);
        // A TCP listener cannot look at HTTP requests: an L7 intention there denies its source.
        if (!http) return new RbacIntention(rule.Source, Decision.Deny, []);
        var permissions = rule.Permissions.Select(p => new RbacPermission(ActionOf(p.Action), ConvertPermission(p))).ToList();
        return new RbacIntention(rule.Source, Decision.Layer7, permissions);
    }

    private static Decision ActionOf(string action) =>
        string.Equals(action, "allow", StringComparison.OrdinalIgnoreCase) ? Decision.Allow : Decision.Deny;

    /// <summary>
    /// Walks the list backwards: each intention excludes its source from every later (kept) intention whose wildcard
    /// covers it, and is itself dropped when it only restates the default. Then does the same for each L7
    /// intention's permissions, dropping intentions none of whose permissions survive.
    /// </summary>
    private static List<RbacIntention> RemoveSourcePrecedence(List<RbacIntention> intentions, Decision defaultAction)
    {
        for (var i = intentions.Count - 1; i >= 0; i--)
        {
            for (var j = i + 1; j < intentions.Count; j++)
            {
                if (intentions[j].Skip) continue;
                if (SourceCoveredBy(intentions[i].Source, intentions[j].Source)) intentions[j].NotSources.Add(intentions[i].Source);
            }
            if (intentions[i].Action == defaultAction) intentions[i].Skip = true;
        }
        var kept = new List<RbacIntention>();
        foreach (var rule in intentions.Where(r => !r.Skip))
        {
            if (rule.Action == Decision.Layer7)
            {
                rule.Permissions = RemovePermissionPrecedence(rule.Permissions, defaultAction);
                // Every permission said what the default says: the intention adds nothing.
                if (rule.Permissions.Count == 0) continue;
            }
            kept.Add(rule);
        }
        return kept;
    }

    private static List<RbacPermission> RemovePermissionPrecedence(List<RbacPermission> permissions, Decision defaultAction)
    {
        // Permissions are evaluated top to bottom, so each one excludes every earlier match, whatever its action.
        for (var i = permissions.Count - 1; i >= 0; i--)
        {
            for (var j = i + 1; j < permissions.Count; j++)
                if (!permissions[j].Skip) permissions[j].NotMatches.Add(permissions[i].Match);
            if (permissions[i].Action == defaultAction) permissions[i].Skip = true;
        }
        return permissions.Where(p => !p.Skip).ToList();
    }

    /// <summary>Whether <paramref name="tester"/> is a strictly narrower source that <paramref name="against"/> covers (<c>web</c> by <c>*</c>).</summary>
    private static bool SourceCoveredBy(string tester, string against) =>
        tester != Precedence.Wildcard && against == Precedence.Wildcard;

    private static Principal IdPrincipal(string source) => new()
    {
        Authenticated = new Principal.Types.Authenticated
        {
            PrincipalName = new StringMatcher { SafeRegex = new RegexMatcher { Regex = SpiffePattern(source) } },
        },
    };

    private static Permission AnyPermission() => new() { Any = true };

    private static Permission AndPermissions(List<Permission> parts) => parts.Count switch
    {
        0 => AnyPermission(),
        1 => parts[0],
        _ => new Permission { AndRules = new Permission.Types.Set { Rules = { parts } } },
    };

    /// <summary>One L7 permission's HTTP match as an RBAC permission: the path, each header, then the methods, ANDed.</summary>
    private static Permission ConvertPermission(IntentionPermission permission)
    {
        if (permission.HTTP is not { } match) return AnyPermission();
        var parts = new List<Permission>();
        if (match.PathExact.Length > 0) parts.Add(PathPermission(new StringMatcher { Exact = match.PathExact }));
        else if (match.PathPrefix.Length > 0) parts.Add(PathPermission(new StringMatcher { Prefix = match.PathPrefix }));
        else if (match.PathRegex.Length > 0) parts.Add(PathPermission(new StringMatcher { SafeRegex = new RegexMatcher { Regex = match.PathRegex } }));

        foreach (var header in match.Header ?? [])
        {
            var permission1 = new Permission { Header = HeaderMatcherOf(header) };
            parts.Add(header.Invert ? new Permission { NotRule = permission1 } : permission1);
        }

        if (match.Methods is { Count: > 0 } methods)
        {
            parts.Add(new Permission
            {
                Header = new HeaderMatcher
                {
                    Name = ":method",
                    StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = string.Join('|', methods.Select(Regex.Escape)) } },
                },
            });
        }
        // An HTTP match with nothing in it matches every request, as in Consul.
        return AndPermissions(parts);
    }

    private static Permission PathPermission(StringMatcher path) => new() { UrlPath = new PathMatcher { Path = path } };

    /// <summary>
    /// A header match without inversion (the caller wraps it in <c>not_rule</c>). Validation allows exactly one kind;
    /// a header naming none is a presence match, as <see cref="L7Permissions.HeaderMatches"/> reads it.
    /// </summary>
    private static HeaderMatcher HeaderMatcherOf(HeaderMatch header)
    {
        var matcher = new HeaderMatcher { Name = header.Name.ToLowerInvariant() };
        if (header.Exact.Length > 0) matcher.StringMatch = new StringMatcher { Exact = header.Exact };
        else if (header.Regex.Length > 0) matcher.StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = header.Regex } };
        else if (header.Prefix.Length > 0) matcher.StringMatch = new StringMatcher { Prefix = header.Prefix };
        else if (header.Suffix.Length > 0) matcher.StringMatch = new StringMatcher { Suffix = header.Suffix };
        else matcher.PresentMatch = true;
        return matcher;
    }
}
