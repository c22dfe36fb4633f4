using System.Net;
using System.Text.RegularExpressions;
using Mesh.Sidecar.Config;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Http;

/// <summary>Routing, splits and header changes through the proxy, against real Kestrel backends on loopback.</summary>
public sealed class HttpProxyRoutingTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>A backend answering "name route path?query split" from what it received.</summary>
    private static Task<TestServer> Echo(string name) => TestServer.StartAsync(async ctx =>
    {
        ctx.Response.Headers["x-backend"] = name;
        await ctx.Response.WriteAsync($"{name} {ctx.Request.Headers["x-route"]} {ctx.Request.Path}{ctx.Request.QueryString} {ctx.Request.Headers["x-split"]}");
    });

    [Fact]
    public async Task HandleAsync_RouteKinds_FirstMatchingRouteServes()
    {
        await using var backend = await Echo("b");
        var routes = Build.Table(
            Build.Route(new RouteMatchConfig(PathMatchKind.Exact, "/exact", null, true, [], []), Build.To("c"), Build.Add("x-route", "exact")),
            Build.Route(new RouteMatchConfig(PathMatchKind.Regex, "", new Regex("^/re/[0-9]+$"), true, [], []), Build.To("c"), Build.Add("x-route", "regex")),
            Build.Route(new RouteMatchConfig(PathMatchKind.Prefix, "/", null, true, [new HeaderMatch("x-user", new StringMatch(StringMatchKind.Exact, "admin"))], []), Build.To("c"), Build.Add("x-route", "header")),
            Build.Route(new RouteMatchConfig(PathMatchKind.Prefix, "/", null, true, [], [new QueryParameterMatch("beta", new StringMatch(StringMatchKind.Exact, "1"))]), Build.To("c"), Build.Add("x-route", "query")),
            Build.Route(new RouteMatchConfig(PathMatchKind.Prefix, "/", null, true, [new HeaderMatch(":method", new StringMatch(StringMatchKind.Exact, "POST"))], []), Build.To("c"), Build.Add("x-route", "method")),
            Build.Route(new RouteMatchConfig(PathMatchKind.Prefix, "/api", null, false, [], []), Build.To("c"), Build.Add("x-route", "prefix")));
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(routes), cluster);
        proxy.Clusters.Set(cluster, backend.EndPoint);
        using var client = proxy.Client();

        Assert.Equal("b exact /exact ", await client.GetStringAsync("/exact"));
        Assert.Equal("b regex /re/42 ", await client.GetStringAsync("/re/42"));
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/anything"))
        {
            request.Headers.Add("x-user", "admin");
            Assert.Equal("b header /anything ", await (await client.SendAsync(request)).Content.ReadAsStringAsync());
        }

        Assert.Equal("b query /x?beta=1 ", await client.GetStringAsync("/x?beta=1"));
        Assert.Equal("b method /x ", await (await client.PostAsync("/x", new StringContent("body"))).Content.ReadAsStringAsync());
        Assert.Equal("b prefix /API/v1 ", await client.GetStringAsync("/API/v1"));
        var none = await client.GetAsync("/nothing");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Contains("no route", await none.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HandleAsync_VirtualHosts_ChosenByAuthority()
    {
        await using var a = await Echo("a");
        await using var b = await Echo("b");
        var table = new RouteTableConfig("t",
        [
            new VirtualHostConfig("api", ["api.internal"], [Build.Route(Build.Prefix("/"), Build.To("a"))]),
            new VirtualHostConfig("rest", ["*"], [Build.Route(Build.Prefix("/"), Build.To("b"))]),
        ]);
        var clusterA = Build.Cluster("a");
        var clusterB = Build.Cluster("b");
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(table), clusterA, clusterB);
        proxy.Clusters.Set(clusterA, a.EndPoint);
        proxy.Clusters.Set(clusterB, b.EndPoint);
        using var client = proxy.Client();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = "api.internal:9191";
        var response = await client.SendAsync(request);
        Assert.Equal("a", response.Headers.GetValues("x-backend").Single());
        Assert.Equal("b", (await client.GetAsync("/")).Headers.GetValues("x-backend").Single());
    }

    [Fact]
    public async Task HandleAsync_EightyTwentySplit_ExactCountsAndSplitHeaders()
    {
        await using var a = await Echo("a");
        await using var b = await Echo("b");
        var clusterA = Build.Cluster("a");
        var clusterB = Build.Cluster("b");
        var action = new RouteActionConfig(null, Build.Split(("a", 80), ("b", 20)), null, null, null, null, []);
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), action))), clusterA, clusterB);
        proxy.Clusters.Set(clusterA, a.EndPoint);
        proxy.Clusters.Set(clusterB, b.EndPoint);
        using var client = proxy.Client();

        var bodies = await RunAsync(client, 2000, 8);

        Assert.Equal(1600, bodies.Count(x => x == "a  / a"));
        Assert.Equal(400, bodies.Count(x => x == "b  / b"));
        Assert.Equal(1600, proxy.Metrics.Requests.With("upstream_test", "a", "200").Value);
        Assert.Equal(400, proxy.Metrics.Requests.With("upstream_test", "b", "200").Value);
    }

    [Fact]
    public async Task HandleAsync_SplitChangedMidRun_NoRequestFailsAndNewSplitApplies()
    {
        await using var a = await Echo("a");
        await using var b = await Echo("b");
        var clusterA = Build.Cluster("a");
        var clusterB = Build.Cluster("b");
        RouteActionConfig Split(int weightA, int weightB) => new(null, Build.Split(("a", weightA), ("b", weightB)), null, null, null, null, []);
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), Split(80, 20)))), clusterA, clusterB);
        proxy.Clusters.Set(clusterA, a.EndPoint);
        proxy.Clusters.Set(clusterB, b.EndPoint);
        using var client = proxy.Client();

        var before = RunAsync(client, 1000, 8);
        // Change the split while the first batch is in flight.
        while (proxy.Metrics.Requests.With("upstream_test", "a", "200").Value < 200) await Task.Yield();
        proxy.Publish(Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), Split(50, 50)))), clusterA, clusterB);
        var first = await before.WaitAsync(Wait);
        var after = await RunAsync(client, 1000, 8);

        Assert.All(first, body => Assert.True(body.StartsWith('a') || body.StartsWith('b'), body));
        Assert.Equal(500, after.Count(x => x.StartsWith('a')));
        Assert.Equal(500, after.Count(x => x.StartsWith('b')));
    }

    [Fact]
    public async Task HandleAsync_PrefixRewriteAndHeaderMutations_Applied()
    {
        string? removed = "unset";
        await using var backend = await TestServer.StartAsync(async ctx =>
        {
            removed = ctx.Request.Headers.TryGetValue("x-secret", out var v) ? v.ToString() : null;
            await ctx.Response.WriteAsync($"{ctx.Request.Path}{ctx.Request.QueryString}|{ctx.Request.Headers["x-added"]}|{ctx.Request.Headers["x-split"]}");
        });
        var cluster = Build.Cluster("c");
        var requestChanges = new HeaderMutation([new HeaderToAdd("x-added", "route", false)], ["x-secret"]);
        var responseChanges = new HeaderMutation([new HeaderToAdd("x-served-by", "mesh", false)], []);
        var action = new RouteActionConfig(null, Build.Split(("c", 1)), "/v2/", null, null, null, []);
        var routes = Build.Table(Build.Route(Build.Prefix("/api/"), action, requestChanges, responseChanges));
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(routes), cluster);
        proxy.Clusters.Set(cluster, backend.EndPoint);
        using var client = proxy.Client();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/items/7?full=1");
        request.Headers.Add("x-secret", "s3cret");
        request.Headers.Add("x-added", "client");
        var response = await client.SendAsync(request);

        Assert.Equal("/v2/items/7?full=1|route|c", await response.Content.ReadAsStringAsync());
        Assert.Null(removed);
        Assert.Equal("mesh", response.Headers.GetValues("x-served-by").Single());
    }

    private static async Task<string[]> RunAsync(HttpClient client, int total, int parallel)
    {
        var results = new string[total];
        var next = -1;
        var workers = Enumerable.Range(0, parallel).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                using var response = await client.GetAsync("/");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                results[i] = await response.Content.ReadAsStringAsync();
            }
        });
        await Task.WhenAll(workers);
        return results;
    }
}
