using System.Collections.Immutable;

namespace Mesh.Sidecar.Config;

/// <summary>What a matching RBAC policy means.</summary>
internal enum RbacAction { Allow, Deny }

/// <summary>
/// An RBAC filter's rules. With <see cref="RbacAction.Allow"/> a request is allowed only when some policy matches;
/// with <see cref="RbacAction.Deny"/> it is denied when some policy matches. A policy matches when any of its
/// permissions and any of its principals match. A filter without rules (<c>rules</c> unset) allows everything.
/// </summary>
internal sealed record RbacConfig(RbacAction Action, ImmutableArray<RbacPolicy> Policies, string StatPrefix);

/// <summary>One named policy: any permission and any principal.</summary>
internal sealed record RbacPolicy(string Name, ImmutableArray<PermissionRule> Permissions, ImmutableArray<PrincipalRule> Principals);

/// <summary>What the request does (Envoy's <c>rbac.v3.Permission</c>, the part Mesh emits).</summary>
internal abstract record PermissionRule
{
    /// <summary>Matches everything.</summary>
    public sealed record Any : PermissionRule;
    /// <summary>All of the rules match.</summary>
    public sealed record And(ImmutableArray<PermissionRule> Rules) : PermissionRule;
    /// <summary>Some rule matches.</summary>
    public sealed record Or(ImmutableArray<PermissionRule> Rules) : PermissionRule;
    /// <summary>The rule does not match.</summary>
    public sealed record Not(PermissionRule Rule) : PermissionRule;
    /// <summary>The request path without its query matches.</summary>
    public sealed record UrlPath(StringMatch Path) : PermissionRule;
    /// <summary>A request header (or pseudo-header) matches.</summary>
    public sealed record Header(HeaderMatch Match) : PermissionRule;
}

/// <summary>Who sends the request (Envoy's <c>rbac.v3.Principal</c>, the part Mesh emits).</summary>
internal abstract record PrincipalRule
{
    /// <summary>Matches everyone, with or without a certificate.</summary>
    public sealed record Any : PrincipalRule;
    /// <summary>All of the ids match.</summary>
    public sealed record And(ImmutableArray<PrincipalRule> Ids) : PrincipalRule;
    /// <summary>Some id matches.</summary>
    public sealed record Or(ImmutableArray<PrincipalRule> Ids) : PrincipalRule;
    /// <summary>The id does not match.</summary>
    public sealed record Not(PrincipalRule Id) : PrincipalRule;
    /// <summary>
    /// The peer presented a verified certificate whose principal (its URI SAN, else its subject) matches; a null
    /// matcher matches any authenticated peer.
    /// </summary>
    public sealed record Authenticated(StringMatch? PrincipalName) : PrincipalRule;
}
