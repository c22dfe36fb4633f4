using System.Net;
using System.Text.Json;

namespace Mesh.Agent.Tests.Http;

/// <summary>/v1/config: CRUD in Consul's shapes, check-and-set, blocking reads, and every refusal a 400 that says why.</summary>
public sealed class ConfigApiTests
{
    private const string WebHttp = """{"Kind":"service-defaults","Name":"web","Protocol":"http"}""";
    private const string WebRouter = """{"Kind":"service-router","Name":"web","Routes":[{"Match":{"HTTP":{"PathPrefix":"/admin"}},"Destination":{"Service":"web"}}]}""";

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(InProcessAgent a, HttpMethod method, string path, string? body = null)
    {
        using var resp = await a.SendAsync(method, path, body);
        return (resp.StatusCode, (await resp.Content.ReadAsStringAsync()).TrimEnd('\n'));
    }

    private static Task<(HttpStatusCode Status, string Body)> PutAsync(InProcessAgent a, string body, string query = "") =>
        SendAsync(a, HttpMethod.Put, "/v1/config" + query, body);

    private static async Task<JsonElement> EntryAsync(InProcessAgent a, string kind, string name) => await a.JsonAsync($"/v1/config/{kind}/{name}");

    [Fact]
    public async Task PutGetListDelete_ServiceDefaults_RoundTripInConsulsShape()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal((HttpStatusCode.OK, "true"), await PutAsync(a, """{"Kind":"service-defaults","Name":"web","Protocol":"HTTP","Meta":{"owner":"team-a"}}"""));

        using var get = await a.GetAsync("/v1/config/service-defaults/web");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        var entry = JsonDocument.Parse(await get.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("service-defaults", entry.GetProperty("Kind").GetString());
        Assert.Equal("web", entry.GetProperty("Name").GetString());
        Assert.Equal("http", entry.GetProperty("Protocol").GetString()); // stored lower-case
        Assert.Equal("team-a", entry.GetProperty("Meta").GetProperty("owner").GetString());
        var modify = entry.GetProperty("ModifyIndex").GetUInt64();
        Assert.Equal(modify, entry.GetProperty("CreateIndex").GetUInt64());
        Assert.Equal(modify, InProcessAgent.Index(get));
        Assert.StartsWith("{\"Kind\":\"service-defaults\"", (await SendAsync(a, HttpMethod.Get, "/v1/config/service-defaults/web")).Body);

        Assert.Equal((HttpStatusCode.OK, "true"), await PutAsync(a, """{"kind":"service-defaults","name":"api","protocol":"grpc"}"""));
        var list = await a.JsonAsync("/v1/config/service-defaults");
        Assert.Equal(["api", "web"], list.EnumerateArray().Select(e => e.GetProperty("Name").GetString()));
        Assert.Equal("grpc", list[0].GetProperty("Protocol").GetString());
        Assert.Equal(2, (await a.JsonAsync("/v1/config/")).GetArrayLength());
        Assert.Equal(0, (await a.JsonAsync("/v1/config/service-router")).GetArrayLength());

        Assert.Equal((HttpStatusCode.OK, "{}"), await SendAsync(a, HttpMethod.Delete, "/v1/config/service-defaults/web"));
        Assert.Equal((HttpStatusCode.NotFound, "Config entry not found for \"service-defaults\" / \"web\""), await SendAsync(a, HttpMethod.Get, "/v1/config/service-defaults/web"));
        // Deleting what is not there is not an error.
        Assert.Equal((HttpStatusCode.OK, "{}"), await SendAsync(a, HttpMethod.Delete, "/v1/config/service-defaults/web"));
    }

    [Fact]
    public async Task List_Filter_SeesEmptyFieldsToo()
    {
        await using var a = await InProcessAgent.StartAsync();
        await PutAsync(a, """{"Kind":"service-resolver","Name":"web","DefaultSubset":"v1","Subsets":{"v1":{}}}""");
        await PutAsync(a, """{"Kind":"service-resolver","Name":"api","ConnectTimeout":"3s"}""");
        static string Q(string filter) => "/v1/config/service-resolver?filter=" + Uri.EscapeDataString(filter);
        Assert.Equal(["web"], (await a.JsonAsync(Q("DefaultSubset == v1"))).EnumerateArray().Select(e => e.GetProperty("Name").GetString()));
        // api leaves DefaultSubset empty, and a filter still compares it.
        Assert.Equal(["api"], (await a.JsonAsync(Q("DefaultSubset == \"\""))).EnumerateArray().Select(e => e.GetProperty("Name").GetString()));
        Assert.Equal(["api"], (await a.JsonAsync(Q("ConnectTimeout == \"3s\""))).EnumerateArray().Select(e => e.GetProperty("Name").GetString()));
        var (status, body) = await SendAsync(a, HttpMethod.Get, Q("(("));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("Failed to create boolean expression evaluator: ", body);
    }

    [Fact]
    public async Task Put_Update_KeepsCreateIndexMovesModifyIndex()
    {
        await using var a = await InProcessAgent.StartAsync();
        await PutAsync(a, WebHttp);
        var first = await EntryAsync(a, "service-defaults", "web");
        await PutAsync(a, """{"Kind":"service-defaults","Name":"web","Protocol":"grpc"}""");
        var second = await EntryAsync(a, "service-defaults", "web");
        Assert.Equal(first.GetProperty("CreateIndex").GetUInt64(), second.GetProperty("CreateIndex").GetUInt64());
        Assert.True(second.GetProperty("ModifyIndex").GetUInt64() > first.GetProperty("ModifyIndex").GetUInt64());
        // The same entry again changes nothing.
        await PutAsync(a, """{"Kind":"service-defaults","Name":"web","Protocol":"grpc"}""");
        Assert.Equal(second.GetProperty("ModifyIndex").GetUInt64(), (await EntryAsync(a, "service-defaults", "web")).GetProperty("ModifyIndex").GetUInt64());
    }

    [Fact]
    public async Task Cas_PutAndDelete_TrueOnlyAtTheCurrentIndex()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal((HttpStatusCode.OK, "true"), await PutAsync(a, WebHttp, "?cas=0"));
        Assert.Equal((HttpStatusCode.OK, "false"), await PutAsync(a, WebHttp, "?cas=0")); // 0: only if absent
        var modify = (await EntryAsync(a, "service-defaults", "web")).GetProperty("ModifyIndex").GetUInt64();
        Assert.Equal((HttpStatusCode.OK, "false"), await PutAsync(a, """{"Kind":"service-defaults","Name":"web","Protocol":"grpc"}""", $"?cas={modify + 100}"));
        Assert.Equal((HttpStatusCode.OK, "true"), await PutAsync(a, """{"Kind":"service-defaults","Name":"web","Protocol":"grpc"}""", $"?cas={modify}"));
        Assert.Equal("grpc", (await EntryAsync(a, "service-defaults", "web")).GetProperty("Protocol").GetString());

        Assert.Equal((HttpStatusCode.OK, "false"), await SendAsync(a, HttpMethod.Delete, $"/v1/config/service-defaults/web?cas={modify}"));
        var now = (await EntryAsync(a, "service-defaults", "web")).GetProperty("ModifyIndex").GetUInt64();
        Assert.Equal((HttpStatusCode.OK, "true"), await SendAsync(a, HttpMethod.Delete, $"/v1/config/service-defaults/web?cas={now}"));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(a, HttpMethod.Get, "/v1/config/service-defaults/web")).Status);
        // An empty cas is no cas, as Consul reads it.
        Assert.Equal((HttpStatusCode.OK, "true"), await PutAsync(a, WebHttp, "?cas="));
    }

    [Fact]
    public async Task BlockingList_WakesOnAnEntryOfTheKind_NotOnAnother()
    {
        await using var a = await InProcessAgent.StartAsync();
        await PutAsync(a, WebHttp);
        using var first = await a.GetAsync("/v1/config/service-router");
        var index = InProcessAgent.Index(first);
        var slots = await WatchSlotsAsync(a);
        var blocked = a.GetAsync($"/v1/config/service-router?index={index}&wait=60s");
        // Any entry moves the index a list reports (Consul's too), so the other kind's write must come after the query
        // parked on its kind, or the query would rightly answer at once.
        await WaitUntilAsync(async () => await WatchSlotsAsync(a) > slots);
        await PutAsync(a, """{"Kind":"service-defaults","Name":"api","Protocol":"http"}""");
        await PutAsync(a, WebRouter);
        // Woken by the other kind's write, the query would have answered an empty list: it must hold the router.
        using var resp = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(InProcessAgent.Index(resp) > index);
        var list = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("web", Assert.Single(list.EnumerateArray()).GetProperty("Name").GetString());
    }

    private static async Task<long> WatchSlotsAsync(InProcessAgent a) =>
        long.Parse((await a.JsonAsync("/v1/agent/self")).GetProperty("Stats").GetProperty("state").GetProperty("watch_slots").GetString()!);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10s");
            await Task.Yield();
        }
    }

    [Fact]
    public async Task BlockingGet_OnAnAbsentEntry_AnswersWhenItIsWritten()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var missing = await a.GetAsync("/v1/config/service-defaults/web");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var index = InProcessAgent.Index(missing);
        var blocked = a.GetAsync($"/v1/config/service-defaults/web?index={index}&wait=60s");
        await PutAsync(a, WebHttp);
        using var resp = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.True(InProcessAgent.Index(resp) > index);
    }

    /// <summary>Method, path, body, status, and the body expected (a leading <c>^</c>: what it starts with).</summary>
    public static TheoryData<string, string, string, int, string> BadRequests() => new()
    {
        { "PUT", "/v1/config", "", 400, "Request decoding failed: a config entry is required" },
        { "PUT", "/v1/config", "{", 400, "^Request decoding failed: " },
        { "PUT", "/v1/config", "[]", 400, "Request decoding failed: a config entry must be a JSON object" },
        { "PUT", "/v1/config", """{"Name":"web"}""", 400, "Request decoding failed: Kind is required" },
        { "PUT", "/v1/config", """{"Kind":"mesh-gateway","Name":"web"}""", 400, "Request decoding failed: invalid config entry kind: mesh-gateway" },
        { "PUT", "/v1/config", """{"Kind":"service-defaults","Name":"web","Protocl":"http"}""", 400, "^Request decoding failed: Protocl" },
        { "PUT", "/v1/config", """{"Kind":"service-defaults","Name":"web","Protocol":"udp"}""", 400, "invalid value for Protocol: \"udp\" (must be one of tcp, http, http2, grpc)" },
        { "PUT", "/v1/config", """{"Kind":"proxy-defaults","Name":"web"}""", 400, "invalid name (\"web\"), only \"global\" is supported" },
        { "PUT", "/v1/config", WebRouter, 400, "discovery chain \"web\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior" },
        { "PUT", "/v1/config", """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}]}""", 400, "service \"db\" has protocol \"tcp\", which is incompatible with L7 intentions permissions" },
        { "PUT", "/v1/config?cas=abc", WebHttp, 400, "Invalid cas: \"abc\" is not an unsigned integer" },
        { "GET", "/v1/config/bogus", "", 400, "invalid config entry kind: bogus" },
        { "GET", "/v1/config/bogus/web", "", 400, "invalid config entry kind: bogus" },
        { "DELETE", "/v1/config/bogus/web", "", 400, "invalid config entry kind: bogus" },
        { "DELETE", "/v1/config/service-defaults", "", 404, "Must provide both a kind and name to delete" },
        { "DELETE", "/v1/config/proxy-defaults/web", "", 400, "invalid name (\"web\"), only \"global\" is supported" },
        { "DELETE", "/v1/config/service-defaults/web?cas=-1", "", 400, "Invalid cas: \"-1\" is not an unsigned integer" },
        { "GET", "/v1/config/service-defaults?index=x", "", 400, "Invalid index" },
        { "POST", "/v1/config", WebHttp, 405, "method POST not allowed" },
        { "PUT", "/v1/config/service-defaults/web", WebHttp, 405, "method PUT not allowed" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequest_EachCase_ClientErrorThatSaysWhy(string method, string path, string body, int status, string message)
    {
        await using var a = await InProcessAgent.StartAsync();
        var (got, text) = await SendAsync(a, new HttpMethod(method), path, body.Length == 0 ? null : body);
        Assert.Equal((HttpStatusCode)status, got);
        if (message.StartsWith('^')) Assert.StartsWith(message[1..], text);
        else Assert.Equal(message, text);
    }

    [Fact]
    public async Task Delete_ProtocolARouterNeeds_Refused()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal((HttpStatusCode.OK, "true"), await PutAsync(a, WebHttp));
        Assert.Equal((HttpStatusCode.OK, "true"), await PutAsync(a, WebRouter));
        Assert.Equal((HttpStatusCode.BadRequest, "discovery chain \"web\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior"),
            await SendAsync(a, HttpMethod.Delete, "/v1/config/service-defaults/web"));
        Assert.Equal((HttpStatusCode.BadRequest, "discovery chain \"web\" uses a protocol \"tcp\" that does not permit advanced routing or splitting behavior"),
            await PutAsync(a, """{"Kind":"service-defaults","Name":"web","Protocol":"tcp"}"""));
        Assert.Equal("http", (await EntryAsync(a, "service-defaults", "web")).GetProperty("Protocol").GetString());
        Assert.Equal((HttpStatusCode.OK, "{}"), await SendAsync(a, HttpMethod.Delete, "/v1/config/service-router/web"));
        Assert.Equal((HttpStatusCode.OK, "{}"), await SendAsync(a, HttpMethod.Delete, "/v1/config/service-defaults/web"));
    }

    [Fact]
    public async Task ConcurrentWrites_RouterAndTcpProtocol_NeverBothLand()
    {
        await using var a = await InProcessAgent.StartAsync();
        for (var round = 0; round < 15; round++)
        {
            await SendAsync(a, HttpMethod.Delete, "/v1/config/service-router/web");
            Assert.Equal((HttpStatusCode.OK, "true"), await PutAsync(a, WebHttp));
            var results = await Task.WhenAll(PutAsync(a, WebRouter), PutAsync(a, """{"Kind":"service-defaults","Name":"web","Protocol":"tcp"}"""));
            Assert.Single(results, r => r.Status == HttpStatusCode.OK);
            var router = await SendAsync(a, HttpMethod.Get, "/v1/config/service-router/web");
            var protocol = (await EntryAsync(a, "service-defaults", "web")).GetProperty("Protocol").GetString();
            Assert.False(router.Status == HttpStatusCode.OK && protocol == "tcp", $"round {round}: a router on a tcp service was stored");
        }
    }

    [Fact]
    public async Task Pretty_AndIntentionsShape_ReportPrecedence()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal((HttpStatusCode.OK, "true"), await PutAsync(a, """{"Kind":"service-intentions","Name":"db","Sources":[{"Name":"web","Action":"allow"},{"Name":"*","Action":"deny","Description":"default deny"}]}"""));
        var (status, body) = await SendAsync(a, HttpMethod.Get, "/v1/config/service-intentions/db?pretty");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("\n    \"Kind\": \"service-intentions\"", body);
        var entry = JsonDocument.Parse(body).RootElement;
        var sources = entry.GetProperty("Sources");
        Assert.Equal("consul", sources[0].GetProperty("Type").GetString());
        Assert.True(sources[0].TryGetProperty("Precedence", out _));
        Assert.Equal("default deny", sources[1].GetProperty("Description").GetString());
    }
}
