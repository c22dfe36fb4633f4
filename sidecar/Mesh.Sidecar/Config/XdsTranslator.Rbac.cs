using System.Collections.Immutable;
using Envoy.Config.Rbac.V3;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;

namespace Mesh.Sidecar.Config;

internal sealed partial class XdsTranslator
{
    /// <summary>
    /// The network RBAC filter. Null when <c>rules</c> is unset: Envoy then enforces nothing (an ALLOW with no
    /// policies, by contrast, denies everything).
    /// </summary>
    private static RbacConfig? NetworkRbacConfig(NetworkRbac rbac, string path)
    {
        if (rbac.Matcher is not null) throw Fail(path, "matcher is not supported (use rules)");
        return rbac.Rules is null ? null : Rules(rbac.Rules, rbac.StatPrefix, At(path, "rules"));
    }

    /// <summary>The HTTP RBAC filter; null when <c>rules</c> is unset (no enforcement, as in Envoy).</summary>
    private static RbacConfig? HttpRbacConfig(HttpRbac rbac, string path)
    {
        if (rbac.Matcher is not null) throw Fail(path, "matcher is not supported (use rules)");
        return rbac.Rules is null ? null : Rules(rbac.Rules, rbac.RulesStatPrefix, At(path, "rules"));
    }

    /// <summary>ALLOW or DENY rules with their policies, sorted by name (the order Envoy evaluates them in).</summary>
    private static RbacConfig Rules(RBAC rules, string statPrefix, string path)
    {
        var action = rules.Action switch
        {
            RBAC.Types.Action.Allow => RbacAction.Allow,
            RBAC.Types.Action.Deny => RbacAction.Deny,
            _ => throw Fail(path, $"action {rules.Action.ToString().ToUpperInvariant()} is not supported (ALLOW or DENY)"),
        };
        if (rules.AuditLoggingOptions is not null) throw Fail(path, "audit_logging_options is not supported");
        var policies = new List<RbacPolicy>(rules.Policies.Count);
        foreach (var (name, policy) in rules.Policies.OrderBy(p => p.Key, StringComparer.Ordinal))
            policies.Add(Policy(name, policy, At(path, $"policy \"{name}\"")));
        return new RbacConfig(action, ToArray(policies), statPrefix);
    }

    private static RbacPolicy Policy(string name, Policy policy, string path)
    {
        if (policy.Condition is not null) throw Fail(path, "condition is not supported");
        if (policy.CheckedCondition is not null) throw Fail(path, "checked_condition is not supported");
        if (policy.Permissions.Count == 0) throw Fail(path, "permissions is empty");
        if (policy.Principals.Count == 0) throw Fail(path, "principals is empty");
        var permissions = ImmutableArray.CreateBuilder<PermissionRule>(policy.Permissions.Count);
        for (var i = 0; i < policy.Permissions.Count; i++) permissions.Add(Permission(policy.Permissions[i], At(path, $"permission {i}")));
        var principals = ImmutableArray.CreateBuilder<PrincipalRule>(policy.Principals.Count);
        for (var i = 0; i < policy.Principals.Count; i++) principals.Add(Principal(policy.Principals[i], At(path, $"principal {i}")));
        return new RbacPolicy(name, permissions.MoveToImmutable(), principals.MoveToImmutable());
    }

    private static PermissionRule Permission(Permission permission, string path) => permission.RuleCase switch
    {
        Envoy.Config.Rbac.V3.Permission.RuleOneofCase.Any when permission.Any => new PermissionRule.Any(),
        Envoy.Config.Rbac.V3.Permission.RuleOneofCase.Any => throw Fail(path, "any must be true"),
        Envoy.Config.Rbac.V3.Permission.RuleOneofCase.AndRules => new PermissionRule.And(Permissions(permission.AndRules, At(path, "and_rules"))),
        Envoy.Config.Rbac.V3.Permission.RuleOneofCase.OrRules => new PermissionRule.Or(Permissions(permission.OrRules, At(path, "or_rules"))),
        Envoy.Config.Rbac.V3.Permission.RuleOneofCase.NotRule => new PermissionRule.Not(Permission(permission.NotRule, At(path, "not_rule"))),
        Envoy.Config.Rbac.V3.Permission.RuleOneofCase.UrlPath => new PermissionRule.UrlPath(UrlPath(permission.UrlPath, At(path, "url_path"))),
        Envoy.Config.Rbac.V3.Permission.RuleOneofCase.Header => new PermissionRule.Header(HeaderMatcher(permission.Header, path)),
        Envoy.Config.Rbac.V3.Permission.RuleOneofCase.None => throw Fail(path, "no rule is set"),
        _ => throw Fail(path, $"{Snake(permission.RuleCase.ToString())} is not supported"),
    };

    private static ImmutableArray<PermissionRule> Permissions(Permission.Types.Set set, string path)
    {
        if (set.Rules.Count == 0) throw Fail(path, "rules is empty");
        var rules = ImmutableArray.CreateBuilder<PermissionRule>(set.Rules.Count);
        for (var i = 0; i < set.Rules.Count; i++) rules.Add(Permission(set.Rules[i], At(path, $"rule {i}")));
        return rules.MoveToImmutable();
    }

    private static StringMatch UrlPath(Envoy.Type.Matcher.V3.PathMatcher matcher, string path) =>
        matcher.RuleCase == Envoy.Type.Matcher.V3.PathMatcher.RuleOneofCase.Path
            ? StringMatcher(matcher.Path, At(path, "path"))
            : throw Fail(path, "path is missing");

    private static PrincipalRule Principal(Principal principal, string path) => principal.IdentifierCase switch
    {
        Envoy.Config.Rbac.V3.Principal.IdentifierOneofCase.Any when principal.Any => new PrincipalRule.Any(),
        Envoy.Config.Rbac.V3.Principal.IdentifierOneofCase.Any => throw Fail(path, "any must be true"),
        Envoy.Config.Rbac.V3.Principal.IdentifierOneofCase.AndIds => new PrincipalRule.And(Principals(principal.AndIds, At(path, "and_ids"))),
        Envoy.Config.Rbac.V3.Principal.IdentifierOneofCase.OrIds => new PrincipalRule.Or(Principals(principal.OrIds, At(path, "or_ids"))),
        Envoy.Config.Rbac.V3.Principal.IdentifierOneofCase.NotId => new PrincipalRule.Not(Principal(principal.NotId, At(path, "not_id"))),
        Envoy.Config.Rbac.V3.Principal.IdentifierOneofCase.Authenticated => new PrincipalRule.Authenticated(
            principal.Authenticated.PrincipalName is { } name ? StringMatcher(name, At(path, "authenticated: principal_name")) : null),
        Envoy.Config.Rbac.V3.Principal.IdentifierOneofCase.None => throw Fail(path, "no identifier is set"),
        _ => throw Fail(path, $"{Snake(principal.IdentifierCase.ToString())} is not supported"),
    };

    private static ImmutableArray<PrincipalRule> Principals(Principal.Types.Set set, string path)
    {
        if (set.Ids.Count == 0) throw Fail(path, "ids is empty");
        var ids = ImmutableArray.CreateBuilder<PrincipalRule>(set.Ids.Count);
        for (var i = 0; i < set.Ids.Count; i++) ids.Add(Principal(set.Ids[i], At(path, $"id {i}")));
        return ids.MoveToImmutable();
    }
}
