using Mesh.Sidecar.Config;

namespace Mesh.Sidecar.Rbac;

/// <summary>What an RBAC check sees of a connection or request.</summary>
internal interface IRbacSubject
{
    /// <summary>The verified peer's principal (its URI SAN, else its subject); null without a verified certificate.</summary>
    string? Principal { get; }

    /// <summary>True for an HTTP request; a network check has no path or headers, and permissions on them do not match.</summary>
    bool IsHttp { get; }

    /// <summary>The request path without the query string.</summary>
    string Path { get; }

    /// <summary>A header's value (pseudo-headers <c>:method</c>, <c>:path</c>, <c>:authority</c>, <c>:scheme</c> included), several values joined by commas; null when absent.</summary>
    string? GetHeader(string name);
}

/// <summary>The outcome of an RBAC check.</summary>
/// <param name="Allowed">Whether the traffic may pass.</param>
/// <param name="Policy">The policy that matched (the allowing or denying one); null when none matched.</param>
internal readonly record struct RbacDecision(bool Allowed, string? Policy);

/// <summary>Evaluates Envoy RBAC rules as Envoy does: first matching policy in name order decides.</summary>
internal static class RbacEvaluator
{
    /// <summary>Checks <paramref name="subject"/> against <paramref name="rbac"/>.</summary>
    public static RbacDecision Evaluate(RbacConfig rbac, IRbacSubject subject)
    {
        foreach (var policy in rbac.Policies)
        {
            if (Matches(policy, subject))
            {
                return new RbacDecision(rbac.Action == RbacAction.Allow, policy.Name);
            }
        }

        return new RbacDecision(rbac.Action == RbacAction.Deny, null);
    }

    private static bool Matches(RbacPolicy policy, IRbacSubject subject)
    {
        var permitted = false;
        foreach (var permission in policy.Permissions)
        {
            if (Matches(permission, subject)) { permitted = true; break; }
        }

        if (!permitted) return false;
        foreach (var principal in policy.Principals)
        {
            if (Matches(principal, subject)) return true;
        }

        return false;
    }

    private static bool Matches(PermissionRule rule, IRbacSubject subject) => rule switch
    {
        PermissionRule.Any => true,
        PermissionRule.And and => and.Rules.All(r => Matches(r, subject)),
        PermissionRule.Or or => or.Rules.Any(r => Matches(r, subject)),
        PermissionRule.Not not => !Matches(not.Rule, subject),
        PermissionRule.UrlPath path => subject.IsHttp && path.Path.Matches(subject.Path),
        PermissionRule.Header header => subject.IsHttp && HeaderMatches(header.Match, subject.GetHeader(header.Match.Name)),
        _ => false,
    };

    private static bool Matches(PrincipalRule rule, IRbacSubject subject) => rule switch
    {
        PrincipalRule.Any => true,
        PrincipalRule.And and => and.Ids.All(r => Matches(r, subject)),
        PrincipalRule.Or or => or.Ids.Any(r => Matches(r, subject)),
        PrincipalRule.Not not => !Matches(not.Id, subject),
        PrincipalRule.Authenticated auth => subject.Principal is { } principal && (auth.PrincipalName?.Matches(principal) ?? true),
        _ => false,
    };

    /// <summary>Envoy's header matcher semantics: presence or value, then inversion.</summary>
    public static bool HeaderMatches(HeaderMatch match, string? value)
    {
        bool result = match.Match is null ? (value is not null) == match.Present : value is not null && match.Match.Matches(value);
        return result != match.Invert;
    }
}
