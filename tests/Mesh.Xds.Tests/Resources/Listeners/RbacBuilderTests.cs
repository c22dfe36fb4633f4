using Envoy.Config.Rbac.V3;
using RbacPermission = Envoy.Config.Rbac.V3.Permission;
using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Resources;
using static Mesh.Xds.Tests.Resources.Listeners.ListenerFixtures;

namespace Mesh.Xds.Tests.Resources.Listeners;

/// <summary>Intentions rendered as Envoy RBAC: structure (Consul's), the tricky orders, and what Envoy then decides.</summary>
public sealed class RbacBuilderTests
{
    private static readonly HttpRequestInfo Get = Request("GET", "/");

    private static HttpRequestInfo Request(string method, string path, params (string Name, string Value)[] headers) =>
        new(path, method, headers.ToDictionary(h => h.Name, h => h.Value));

    private static RBAC Rules(bool defaultAllow, bool http, params IntentionRule[] rules) => RbacBuilder.Rules(Sorted(rules), defaultAllow, http);

    private static bool Allows(RBAC rules, string source, HttpRequestInfo? request = null) => RbacEvaluator.Allows(rules, SpiffeId(source), request);

    private static string Regex(Principal principal) => principal.Authenticated.PrincipalName.SafeRegex.Regex;

    [Fact]
    public void SpiffePattern_ExactAndWildcard_MatchAnyTrustDomainAndDatacenter()
    {
        Assert.Equal("^spiffe://[^/]+/ns/default/dc/[^/]+/svc/web$", RbacBuilder.SpiffePattern("web"));
        Assert.Equal("^spiffe://[^/]+/ns/default/dc/[^/]+/svc/[^/]+$", RbacBuilder.SpiffePattern("*"));
        Assert.Equal(@"^spiffe://[^/]+/ns/default/dc/[^/]+/svc/a\.b$", RbacBuilder.SpiffePattern("a.b"));
    }

    [Fact]
    public void Rules_NoIntentionsDefaultDeny_AllowListWithoutPoliciesDeniesEveryone()
    {
        var rules = Rules(defaultAllow: false, http: false);

        Assert.Equal(RBAC.Types.Action.Allow, rules.Action);
        Assert.Empty(rules.Policies);
        Assert.False(Allows(rules, "web"));
    }

    [Fact]
    public void Rules_NoIntentionsDefaultAllow_DenyListWithoutPoliciesAllowsEveryone()
    {
        var rules = Rules(defaultAllow: true, http: false);

        Assert.Equal(RBAC.Types.Action.Deny, rules.Action);
        Assert.Empty(rules.Policies);
        Assert.True(Allows(rules, "web"));
    }

    [Fact]
    public void Rules_ExactAllowWildcardDenyDefaultDeny_OnlyTheExactSourceIsListed()
    {
        var rules = Rules(false, false, Rule("web", "db", "allow"), Rule("*", "db", "deny"));

        Assert.Equal(RBAC.Types.Action.Allow, rules.Action);
        var policy = Assert.Single(rules.Policies);
        Assert.Equal(RbacBuilder.Layer4Policy, policy.Key);
        Assert.True(Assert.Single(policy.Value.Permissions).Any);
        Assert.Equal(RbacBuilder.SpiffePattern("web"), Regex(Assert.Single(policy.Value.Principals)));
        Assert.True(Allows(rules, "web"));
        Assert.False(Allows(rules, "api"));
    }

    [Fact]
    public void Rules_ExactAllowWildcardDenyDefaultAllow_WildcardDenyExcludesTheExactSource()
    {
        var rules = Rules(true, false, Rule("web", "db", "allow"), Rule("*", "db", "deny"));

        Assert.Equal(RBAC.Types.Action.Deny, rules.Action);
        var principal = Assert.Single(rules.Policies[RbacBuilder.Layer4Policy].Principals);
        Assert.Equal(2, principal.AndIds.Ids.Count);
        Assert.Equal(RbacBuilder.SpiffePattern("*"), Regex(principal.AndIds.Ids[0]));
        Assert.Equal(RbacBuilder.SpiffePattern("web"), Regex(principal.AndIds.Ids[1].NotId));
        Assert.True(Allows(rules, "web"));
        Assert.False(Allows(rules, "api"));
        ListenerGolden.Assert("rbac-wildcard-deny-exact-allow-default-allow", [rules]);
    }

    [Fact]
    public void Rules_ExactDenyWildcardAllowDefaultDeny_WildcardAllowExcludesTheExactSource()
    {
        var rules = Rules(false, false, Rule("web", "db", "deny"), Rule("ops", "db", "deny"), Rule("*", "db", "allow"));

        var principal = Assert.Single(rules.Policies[RbacBuilder.Layer4Policy].Principals);
        // NOT terms come in the order Consul collects them: walking the intentions from the lowest precedence up.
        Assert.Equal([RbacBuilder.SpiffePattern("*"), RbacBuilder.SpiffePattern("web"), RbacBuilder.SpiffePattern("ops")],
            principal.AndIds.Ids.Select(p => p.IdentifierCase == Principal.IdentifierOneofCase.NotId ? Regex(p.NotId) : Regex(p)));
        Assert.False(Allows(rules, "web"));
        Assert.False(Allows(rules, "ops"));
        Assert.True(Allows(rules, "api"));
        ListenerGolden.Assert("rbac-wildcard-allow-exact-deny-default-deny", [rules]);
    }

    [Fact]
    public void Rules_IntentionEqualToDefault_IsDropped()
    {
        var rules = Rules(true, false, Rule("web", "db", "allow"), Rule("api", "db", "deny"));

        var principal = Assert.Single(rules.Policies[RbacBuilder.Layer4Policy].Principals);
        Assert.Equal(RbacBuilder.SpiffePattern("api"), Regex(principal));
    }

    [Fact]
    public void Rules_SameSourceForExactAndWildcardDestination_OnlyTheMorePreciseCounts()
    {
        // web → db allow (9) decides for web; web → * deny (6) must not appear at all.
        var rules = Rules(false, false, Rule("web", "db", "allow"), Rule("web", "*", "deny"), Rule("*", "*", "deny"));

        var principal = Assert.Single(rules.Policies[RbacBuilder.Layer4Policy].Principals);
        Assert.Equal(RbacBuilder.SpiffePattern("web"), Regex(principal));
        Assert.True(Allows(rules, "web"));
        Assert.False(Allows(rules, "api"));
    }

    [Fact]
    public void Rules_WildcardSourceOutranksExactSourceOfWildcardDestination_LaterIntentionCannotDecide()
    {
        // * → db deny (8) decides for every source before web → * allow (6) is reached: web is denied, as
        // IntentionSet.Decide says. (Consul's flattening lets web in here.)
        var rules = Rules(false, false, Rule("*", "db", "deny"), Rule("web", "*", "allow"));
        var set = new IntentionSet([Sorted(Rule("*", "db", "deny")), Sorted(Rule("web", "*", "allow"))]);

        Assert.Equal("deny", set.Decide("web", "db")!.Action);
        Assert.Empty(rules.Policies);
        Assert.False(Allows(rules, "web"));
    }

    [Fact]
    public void Network_L7Intention_CountsAsDeny()
    {
        var snapshot = HttpSidecar() with { Local = HttpSidecar().Local! with { Protocol = "tcp" } };

        var rbac = RbacBuilder.Network(snapshot);

        Assert.Equal("connect_authz", rbac.StatPrefix);
        Assert.Equal(RBAC.Types.Action.Allow, rbac.Rules.Action);
        Assert.False(Allows(rbac.Rules, "web"));
        Assert.False(Allows(rbac.Rules, "ops"));
        Assert.True(Allows(rbac.Rules, "api"));
        ListenerGolden.Assert("rbac-network-l7-as-deny", [rbac]);
    }

    [Fact]
    public void Http_L7IntentionDefaultDeny_PerSourcePolicyWithEarlierPermissionsExcluded()
    {
        var rbac = RbacBuilder.Http(HttpSidecar());

        Assert.Equal(RBAC.Types.Action.Allow, rbac.Rules.Action);
        Assert.Equal([RbacBuilder.Layer7PolicyPrefix + "0", RbacBuilder.Layer4Policy], rbac.Rules.Policies.Keys);
        var l7 = rbac.Rules.Policies[RbacBuilder.Layer7PolicyPrefix + "0"];
        Assert.Equal(RbacBuilder.SpiffePattern("web"), Regex(Assert.Single(l7.Principals)));
        // The deny on /v1/admin is dropped (it says what the default says) but excluded from both allows after it.
        Assert.Equal(2, l7.Permissions.Count);
        Assert.All(l7.Permissions, p => Assert.Equal(RbacPermission.RuleOneofCase.AndRules, p.RuleCase));
        Assert.Equal(RbacPermission.RuleOneofCase.NotRule, l7.Permissions[0].AndRules.Rules[^1].RuleCase);

        Assert.True(Allows(rbac.Rules, "web", Request("GET", "/v1/items")));
        Assert.True(Allows(rbac.Rules, "web", Request("HEAD", "/v1/items?page=2")));
        Assert.False(Allows(rbac.Rules, "web", Request("POST", "/v1/items")));
        Assert.False(Allows(rbac.Rules, "web", Request("GET", "/v1/admin/users")));
        Assert.False(Allows(rbac.Rules, "web", Request("GET", "/v1/items", ("x-debug", "1"))));
        Assert.True(Allows(rbac.Rules, "web", Request("POST", "/health")));
        Assert.False(Allows(rbac.Rules, "web", Request("GET", "/other")));
        Assert.False(Allows(rbac.Rules, "ops", Get));
        Assert.True(Allows(rbac.Rules, "api", Request("DELETE", "/anything")));
        ListenerGolden.Assert("rbac-http-l7-default-deny", [rbac]);
    }

    [Fact]
    public void Http_L7IntentionDefaultAllow_DenyPermissionsBecomeTheDenyList()
    {
        var snapshot = HttpSidecar() with
        {
            DefaultAllow = true,
            Intentions = Sorted(L7("web", "api",
                Permission("allow", new IntentionHttpMatch { PathExact = "/v1/admin/health" }),
                Permission("deny", new IntentionHttpMatch { PathPrefix = "/v1/admin" }),
                Permission("deny", new IntentionHttpMatch { PathRegex = "/v[0-9]+/secret", Header = [new HeaderMatch { Name = "x-role", Exact = "guest" }] }))),
        };

        var rbac = RbacBuilder.Http(snapshot);

        Assert.Equal(RBAC.Types.Action.Deny, rbac.Rules.Action);
        var policy = Assert.Single(rbac.Rules.Policies);
        Assert.Equal(RbacBuilder.Layer7PolicyPrefix + "0", policy.Key);
        Assert.Equal(2, policy.Value.Permissions.Count);
        Assert.True(Allows(rbac.Rules, "web", Request("GET", "/v1/admin/health")));
        Assert.False(Allows(rbac.Rules, "web", Request("GET", "/v1/admin/users")));
        Assert.False(Allows(rbac.Rules, "web", Request("GET", "/v2/secret", ("x-role", "guest"))));
        Assert.True(Allows(rbac.Rules, "web", Request("GET", "/v2/secret", ("x-role", "admin"))));
        Assert.True(Allows(rbac.Rules, "api", Request("GET", "/v1/admin/users")));
    }

    [Fact]
    public void Http_L7IntentionWhosePermissionsAllEqualTheDefault_IsDropped()
    {
        var snapshot = HttpSidecar() with
        {
            DefaultAllow = false,
            Intentions = Sorted(L7("web", "api", Permission("deny", new IntentionHttpMatch { PathPrefix = "/" }))),
        };

        Assert.Empty(RbacBuilder.Http(snapshot).Rules.Policies);
    }

    [Fact]
    public void Http_InvertedHeaderMatch_IsNotRuleSoAnAbsentHeaderMatches()
    {
        var snapshot = HttpSidecar() with
        {
            Intentions = Sorted(L7("web", "api", Permission("allow", new IntentionHttpMatch
            {
                Header = [new HeaderMatch { Name = "X-Tenant", Exact = "blocked", Invert = true }],
            }))),
        };

        var rbac = RbacBuilder.Http(snapshot);

        var permission = Assert.Single(rbac.Rules.Policies[RbacBuilder.Layer7PolicyPrefix + "0"].Permissions);
        Assert.Equal(RbacPermission.RuleOneofCase.NotRule, permission.RuleCase);
        Assert.Equal("x-tenant", permission.NotRule.Header.Name);
        Assert.False(permission.NotRule.Header.InvertMatch);
        Assert.True(Allows(rbac.Rules, "web", Get));
        Assert.True(Allows(rbac.Rules, "web", Request("GET", "/", ("x-tenant", "ok"))));
        Assert.False(Allows(rbac.Rules, "web", Request("GET", "/", ("x-tenant", "blocked"))));
    }

    [Fact]
    public void Http_PermissionWithoutHttpMatch_IsAnyPermission()
    {
        var snapshot = HttpSidecar() with { Intentions = Sorted(L7("web", "api", Permission("allow", null))) };

        var permission = Assert.Single(RbacBuilder.Http(snapshot).Rules.Policies[RbacBuilder.Layer7PolicyPrefix + "0"].Permissions);

        Assert.True(permission.Any);
    }

    [Fact]
    public void Http_MethodsAndPaths_RenderedAsConsulDoes()
    {
        var snapshot = HttpSidecar() with
        {
            Intentions = Sorted(L7("web", "api", Permission("allow", new IntentionHttpMatch { PathExact = "/a", Methods = ["GET", "PUT"] }))),
        };

        var permission = Assert.Single(RbacBuilder.Http(snapshot).Rules.Policies[RbacBuilder.Layer7PolicyPrefix + "0"].Permissions);

        var parts = permission.AndRules.Rules;
        Assert.Equal("/a", parts[0].UrlPath.Path.Exact);
        Assert.Equal(":method", parts[1].Header.Name);
        Assert.Equal("GET|PUT", parts[1].Header.StringMatch.SafeRegex.Regex);
    }

    [Fact]
    public void Rules_UnsortedInput_SortedBeforeFlattening()
    {
        var sorted = RbacBuilder.Rules(Sorted(Rule("web", "db", "deny"), Rule("*", "db", "allow")), false, false);
        var reversed = RbacBuilder.Rules([Rule("*", "db", "allow"), Rule("web", "db", "deny")], false, false);

        Assert.Equal(sorted, reversed);
    }

    [Fact]
    public void Network_IntentionForAnotherDestination_Ignored()
    {
        var snapshot = TcpSidecar() with { Intentions = Sorted(Rule("web", "dashboard", "allow"), Rule("api", "billing", "allow")) };

        var rules = RbacBuilder.Network(snapshot).Rules;

        Assert.True(Allows(rules, "web"));
        Assert.False(Allows(rules, "api"));
    }

    [Fact]
    public void Network_NullSnapshot_Throws() => Assert.Throws<ArgumentNullException>(() => RbacBuilder.Network(null!));
}
