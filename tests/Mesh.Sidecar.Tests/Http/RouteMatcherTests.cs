using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Http;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Http;

public class RouteMatcherTests
{
    private static RouteTableConfig Hosts() => new("t",
    [
        new VirtualHostConfig("catch", ["*"], []),
        new VirtualHostConfig("exact", ["api.example.com", "api.example.com:8080"], []),
        new VirtualHostConfig("suffix", ["*.example.com"], []),
        new VirtualHostConfig("longer-suffix", ["*.eu.example.com"], []),
        new VirtualHostConfig("prefix", ["web*"], []),
        new VirtualHostConfig("plain", ["db"], []),
    ]);

    [Theory]
    [InlineData("api.example.com", "exact")]
    [InlineData("API.Example.com", "exact")]
    [InlineData("api.example.com:8080", "exact")]
    [InlineData("x.example.com", "suffix")]
    [InlineData("x.eu.example.com", "longer-suffix")]
    [InlineData("webserver", "prefix")]
    [InlineData("db:5432", "plain")]
    [InlineData("other", "catch")]
    [InlineData("example.com", "catch")]
    public void SelectVirtualHost_Authority_FollowsEnvoyOrder(string authority, string expected)
    {
        Assert.Equal(expected, RouteMatcher.SelectVirtualHost(Hosts(), authority)!.Name);
    }

    [Fact]
    public void SelectVirtualHost_NoDomainMatches_ReturnsNull()
    {
        var table = new RouteTableConfig("t", [new VirtualHostConfig("only", ["a"], [])]);
        Assert.Null(RouteMatcher.SelectVirtualHost(table, "b"));
    }

    [Theory]
    [InlineData(nameof(PathMatchKind.Prefix), "/api", true, "/api/x", true)]
    [InlineData(nameof(PathMatchKind.Prefix), "/api", true, "/API/x", false)]
    [InlineData(nameof(PathMatchKind.Prefix), "/api", false, "/API/x", true)]
    [InlineData(nameof(PathMatchKind.Exact), "/api", true, "/api", true)]
    [InlineData(nameof(PathMatchKind.Exact), "/api", true, "/api/", false)]
    [InlineData(nameof(PathMatchKind.PathSeparatedPrefix), "/api", true, "/api", true)]
    [InlineData(nameof(PathMatchKind.PathSeparatedPrefix), "/api", true, "/api/v1", true)]
    [InlineData(nameof(PathMatchKind.PathSeparatedPrefix), "/api", true, "/apiv1", false)]
    public void PathMatches_Kinds_CompareAsEnvoy(string kind, string pattern, bool caseSensitive, string path, bool expected)
    {
        var match = new RouteMatchConfig(Enum.Parse<PathMatchKind>(kind), pattern, null, caseSensitive, [], []);
        Assert.Equal(expected, RouteMatcher.PathMatches(match, path));
    }

    [Fact]
    public void PathMatches_Regex_MatchesWholePathOnly()
    {
        var match = new RouteMatchConfig(PathMatchKind.Regex, "", new Regex("^/v[0-9]+/items$"), true, [], []);
        Assert.True(RouteMatcher.PathMatches(match, "/v2/items"));
        Assert.False(RouteMatcher.PathMatches(match, "/v2/items/1"));
    }

    [Fact]
    public void Matches_PseudoHeadersAndQuery_AllMustMatch()
    {
        var match = new RouteMatchConfig(PathMatchKind.Prefix, "/", null, true,
            [new HeaderMatch(":method", new StringMatch(StringMatchKind.Exact, "POST")), new HeaderMatch(":authority", new StringMatch(StringMatchKind.Prefix, "svc"))],
            [new QueryParameterMatch("debug", null), new QueryParameterMatch("v", new StringMatch(StringMatchKind.Exact, "2"))]);
        Assert.True(RouteMatcher.Matches(match, View("POST", "svc:80", "/x", "?debug&v=2")));
        Assert.False(RouteMatcher.Matches(match, View("GET", "svc:80", "/x", "?debug&v=2")));
        Assert.False(RouteMatcher.Matches(match, View("POST", "other", "/x", "?debug&v=2")));
        Assert.False(RouteMatcher.Matches(match, View("POST", "svc:80", "/x", "?v=2")));
        Assert.False(RouteMatcher.Matches(match, View("POST", "svc:80", "/x", "?debug&v=3")));
    }

    [Fact]
    public void Rewrite_PrefixAndExact_ReplaceMatchedPart()
    {
        Assert.Equal("/v2/items", HttpProxy.Rewrite(new RouteMatchConfig(PathMatchKind.Prefix, "/api/", null, true, [], []), "/api/items", "/v2/"));
        Assert.Equal("/items", HttpProxy.Rewrite(new RouteMatchConfig(PathMatchKind.Prefix, "/api", null, true, [], []), "/api/items", ""));
        Assert.Equal("/new", HttpProxy.Rewrite(new RouteMatchConfig(PathMatchKind.Exact, "/old", null, true, [], []), "/old", "/new"));
    }

    private static RequestView View(string method, string host, string path, string query)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Host = new HostString(host);
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        return new RequestView(context.Request, null);
    }
}
