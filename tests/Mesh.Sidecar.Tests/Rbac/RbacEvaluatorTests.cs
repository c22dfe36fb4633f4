using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Rbac;

namespace Mesh.Sidecar.Tests.Rbac;

public class RbacEvaluatorTests
{
    private static readonly StringMatch Web = new(StringMatchKind.Regex, "", Regex: new Regex("^spiffe://[^/]+/ns/default/dc/[^/]+/svc/web$"));

    private sealed record Subject(string? Principal, bool IsHttp = false, string Path = "/", Dictionary<string, string>? Headers = null) : IRbacSubject
    {
        public string? GetHeader(string name) => Headers is not null && Headers.TryGetValue(name, out var v) ? v : null;
    }

    private static RbacConfig Allow(params RbacPolicy[] policies) => new(RbacAction.Allow, [.. policies], "test");

    [Fact]
    public void Evaluate_AllowPolicyMatchingPrincipal_Allows()
    {
        var rbac = Allow(new RbacPolicy("p", [new PermissionRule.Any()], [new PrincipalRule.Authenticated(Web)]));
        var decision = RbacEvaluator.Evaluate(rbac, new Subject("spiffe://t.consul/ns/default/dc/dc1/svc/web"));
        Assert.True(decision.Allowed);
        Assert.Equal("p", decision.Policy);
    }

    [Fact]
    public void Evaluate_AllowPolicyOtherPrincipalOrNoCertificate_Denies()
    {
        var rbac = Allow(new RbacPolicy("p", [new PermissionRule.Any()], [new PrincipalRule.Authenticated(Web)]));
        Assert.False(RbacEvaluator.Evaluate(rbac, new Subject("spiffe://t.consul/ns/default/dc/dc1/svc/webx")).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Subject(null)).Allowed);
    }

    [Fact]
    public void Evaluate_DenyPolicy_DeniesMatchAndAllowsOthers()
    {
        var rbac = new RbacConfig(RbacAction.Deny, [new RbacPolicy("d", [new PermissionRule.Any()], [new PrincipalRule.Authenticated(Web)])], "t");
        Assert.False(RbacEvaluator.Evaluate(rbac, new Subject("spiffe://t.consul/ns/default/dc/dc1/svc/web")).Allowed);
        Assert.True(RbacEvaluator.Evaluate(rbac, new Subject("spiffe://t.consul/ns/default/dc/dc1/svc/api")).Allowed);
    }

    [Fact]
    public void Evaluate_HttpPermissionsOnNetworkSubject_DoNotMatch()
    {
        var path = new PermissionRule.UrlPath(new StringMatch(StringMatchKind.Prefix, "/v1/"));
        var rbac = Allow(new RbacPolicy("p", [path], [new PrincipalRule.Any()]));
        Assert.False(RbacEvaluator.Evaluate(rbac, new Subject("x")).Allowed);
        Assert.True(RbacEvaluator.Evaluate(rbac, new Subject("x", IsHttp: true, Path: "/v1/kv")).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Subject("x", IsHttp: true, Path: "/v2/kv")).Allowed);
    }

    [Fact]
    public void Evaluate_NotAndHeaderRules_CombineAsEnvoyDoes()
    {
        var notDebug = new PermissionRule.Not(new PermissionRule.Header(new HeaderMatch("x-debug", null)));
        var get = new PermissionRule.Header(new HeaderMatch(":method", new StringMatch(StringMatchKind.Regex, "", Regex: new Regex("^(?:GET|HEAD)$"))));
        var rbac = Allow(new RbacPolicy("p", [new PermissionRule.And([notDebug, get])], [new PrincipalRule.Any()]));
        Assert.True(RbacEvaluator.Evaluate(rbac, new Subject(null, true, "/", new() { [":method"] = "GET" })).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Subject(null, true, "/", new() { [":method"] = "POST" })).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Subject(null, true, "/", new() { [":method"] = "GET", ["x-debug"] = "1" })).Allowed);
    }

    [Fact]
    public void Evaluate_AndIdsWithNotId_ExcludesTheNamedService()
    {
        var any = new StringMatch(StringMatchKind.Regex, "", Regex: new Regex("^spiffe://[^/]+/ns/default/dc/[^/]+/svc/[^/]+$"));
        var principal = new PrincipalRule.And([new PrincipalRule.Authenticated(any), new PrincipalRule.Not(new PrincipalRule.Authenticated(Web))]);
        var rbac = Allow(new RbacPolicy("p", [new PermissionRule.Any()], [principal]));
        Assert.True(RbacEvaluator.Evaluate(rbac, new Subject("spiffe://t/ns/default/dc/dc1/svc/api")).Allowed);
        Assert.False(RbacEvaluator.Evaluate(rbac, new Subject("spiffe://t/ns/default/dc/dc1/svc/web")).Allowed);
    }
}
