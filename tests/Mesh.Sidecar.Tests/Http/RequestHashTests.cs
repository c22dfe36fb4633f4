using Mesh.Sidecar.Config;
using Mesh.Sidecar.Http;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Http;

public class RequestHashTests
{
    private static RequestView View(string? user = null, string? query = null)
    {
        var context = new DefaultHttpContext();
        if (user is not null) context.Request.Headers["x-user"] = user;
        if (query is not null) context.Request.QueryString = new QueryString(query);
        return new RequestView(context.Request, null);
    }

    [Fact]
    public void Compute_SameHeader_SameHashDifferentHeader_DifferentHash()
    {
        HashPolicyConfig[] policies = [new HashPolicyConfig.Header("x-user", false)];
        Assert.Equal(RequestHash.Compute(policies, View("ann"), null), RequestHash.Compute(policies, View("ann"), null));
        Assert.NotEqual(RequestHash.Compute(policies, View("ann"), null), RequestHash.Compute(policies, View("bob"), null));
    }

    [Fact]
    public void Compute_NoInputFound_Null()
    {
        HashPolicyConfig[] policies = [new HashPolicyConfig.Header("x-user", false), new HashPolicyConfig.QueryParameter("id", false)];
        Assert.Null(RequestHash.Compute(policies, View(), null));
    }

    [Fact]
    public void Compute_TerminalPolicyMatched_LaterPoliciesIgnored()
    {
        HashPolicyConfig[] terminal = [new HashPolicyConfig.Header("x-user", true), new HashPolicyConfig.SourceIp(false)];
        HashPolicyConfig[] combined = [new HashPolicyConfig.Header("x-user", false), new HashPolicyConfig.SourceIp(false)];
        Assert.Equal(RequestHash.Compute(terminal, View("ann"), "10.0.0.1"), RequestHash.Compute(terminal, View("ann"), "10.0.0.2"));
        Assert.NotEqual(RequestHash.Compute(combined, View("ann"), "10.0.0.1"), RequestHash.Compute(combined, View("ann"), "10.0.0.2"));
    }

    [Fact]
    public void Compute_QueryParameter_Hashed()
    {
        HashPolicyConfig[] policies = [new HashPolicyConfig.QueryParameter("id", false)];
        Assert.Equal(RequestHash.Fnv1a("42"), RequestHash.Compute(policies, View(query: "?id=42"), null));
    }
}
