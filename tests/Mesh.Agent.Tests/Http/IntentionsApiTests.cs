using System.Net;
using System.Text.Json;

namespace Mesh.Agent.Tests.Http;

/// <summary>
/// /v1/connect/intentions: writes by name (exact) and by ID (legacy), the reads over them, concurrent writers on one
/// destination, and /v1/agent/connect/authorize deciding by what was written.
/// </summary>
public sealed class IntentionsApiTests
{
    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(InProcessAgent a, HttpMethod method, string path, string? body = null)
    {
        using var resp = await a.SendAsync(method, path, body);
        return (resp.StatusCode, (await resp.Content.ReadAsStringAsync()).TrimEnd('\n'));
    }

    private static string Exact(string source, string destination) =>
        $"/v1/connect/intentions/exact?source={Uri.EscapeDataString(source)}&destination={Uri.EscapeDataString(destination)}";

    private static async Task PutExactAsync(InProcessAgent a, string source, string destination, string body)
    {
        var (status, text) = await SendAsync(a, HttpMethod.Put, Exact(source, destination), body);
        Assert.True(status == HttpStatusCode.OK && text == "true", $"PUT {source} => {destination}: {(int)status} {text}");
    }

    private static async Task<string> CreateLegacyAsync(InProcessAgent a, string body)
    {
        var (status, text) = await SendAsync(a, HttpMethod.Post, "/v1/connect/intentions", body);
        Assert.True(status == HttpStatusCode.OK, $"POST: {(int)status} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("ID").GetString()!;
    }

    private static async Task<IReadOnlyList<string>> SourcesAsync(InProcessAgent a, string destination) =>
        (await a.JsonAsync($"/v1/config/service-intentions/{destination}")).GetProperty("Sources").EnumerateArray()
            .Select(s => $"{s.GetProperty("Name").GetString()}:{(s.TryGetProperty("Action", out var act) ? act.GetString() : "L7")}").ToList();

    [Fact]
    public async Task PutExact_NewThenReplace_OneEntryPerDestinationKeepingOtherSources()
    {
        await using var a = await InProcessAgent.StartAsync();
        await PutExactAsync(a, "web", "db", """{"SourceType":"consul","Action":"allow"}""");
        await PutExactAsync(a, "api", "db", """{"Action":"deny","Description":"no api"}""");
        Assert.Equal(["web:allow", "api:deny"], await SourcesAsync(a, "db"));

        await PutExactAsync(a, "web", "db", """{"Action":"deny","Description":"changed"}""");
        Assert.Equal(["web:deny", "api:deny"], await SourcesAsync(a, "db"));

        var web = await a.JsonAsync(Exact("web", "db"));
        Assert.Equal("deny", web.GetProperty("Action").GetString());
        Assert.Equal("changed", web.GetProperty("Description").GetString());
        Assert.Equal(9, web.GetProperty("Precedence").GetInt32());
        Assert.Equal("consul", web.GetProperty("SourceType").GetString());
        // Written by name: no ID, no legacy times.
        Assert.False(web.TryGetProperty("ID", out _));
        Assert.False(web.TryGetProperty("CreatedAt", out _));
        Assert.Equal(2, (await a.JsonAsync("/v1/connect/intentions")).GetArrayLength());
    }

    [Fact]
    public async Task PutExact_EntryMeta_OnlyAbsentOrUnchanged()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal((HttpStatusCode.BadRequest, "Meta must not be specified"),
            await SendAsync(a, HttpMethod.Put, Exact("web", "db"), """{"Action":"allow","Meta":{"k":"v"}}"""));
        Assert.Equal((HttpStatusCode.OK, "true"), await SendAsync(a, HttpMethod.Put, "/v1/config",
            """{"Kind":"service-intentions","Name":"db","Meta":{"owner":"dba"},"Sources":[{"Name":"api","Action":"deny"}]}"""));
        // What a client read back (the entry's metadata) may travel with the write; anything else may not.
        await PutExactAsync(a, "web", "db", """{"Action":"allow","Meta":{"owner":"dba"}}""");
        Assert.Equal((HttpStatusCode.BadRequest, "Meta must not be specified, or should be unchanged during an update."),
            await SendAsync(a, HttpMethod.Put, Exact("web", "db"), """{"Action":"allow","Meta":{"owner":"me"}}"""));
        Assert.Equal("dba", (await a.JsonAsync(Exact("web", "db"))).GetProperty("Meta").GetProperty("owner").GetString());
    }

    public static TheoryData<string, string, string, string> BadExactWrites() => new()
    {
        { "web", "db", """{"Action":"maybe"}""", "Sources[0].Action must be set to 'allow' or 'deny'" },
        { "web", "db", "{}", "Sources[0].Action must be set to 'allow' or 'deny'" },
        { "web", "db", """{"Action":"allow","SourceType":"external"}""", "Sources[0].Type must be set to 'consul'" },
        { "web*", "db", """{"Action":"allow"}""", "Sources[0].Name: wildcard character '*' cannot be used with partial values" },
        { "web", "d*", """{"Action":"allow"}""", "Name: wildcard character '*' cannot be used with partial values" },
        { "web", "db", """{"Action":"allow",""", "Request decode failed: " },
        { "web", "db", """{"Action":7}""", "Request decode failed: Action must be a string" },
        { "web", "db", "[]", "Request decode failed: an intention must be a JSON object" },
        { "web", "db", "", "Request decode failed: EOF" },
        { "web", "db", """{"Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}""",
            "service \"db\" has protocol \"tcp\", which is incompatible with L7 intentions permissions" },
        { "web", "db", """{"Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/","Bogus":1}}]}""", "Request decode failed: " },
        { "web", "*", """{"Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}""",
            "Sources[0].Permissions cannot be specified on intentions with wildcarded destinations" },
        { "other/web", "db", """{"Action":"allow"}""", "source \"other/web\" is invalid: namespace or partition \"other\" is not supported: only \"default\" exists" },
        { "a/b/c/d", "db", """{"Action":"allow"}""", "source \"a/b/c/d\" is invalid: input can contain at most two '/'" },
        { "peer:x/web", "db", """{"Action":"allow"}""", "source \"peer:x/web\" is invalid: cannot specify a peer here" },
    };

    [Theory]
    [MemberData(nameof(BadExactWrites))]
    public async Task PutExact_Invalid_400SaysWhy(string source, string destination, string body, string expected)
    {
        await using var a = await InProcessAgent.StartAsync();
        var (status, text) = await SendAsync(a, HttpMethod.Put, Exact(source, destination), body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(expected, text);
        Assert.Equal(0, (await a.JsonAsync("/v1/connect/intentions")).GetArrayLength());
    }

    [Fact]
    public async Task PutExact_L7OnHttpService_StoredAndShownWithPermissions()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal((HttpStatusCode.OK, "true"), await SendAsync(a, HttpMethod.Put, "/v1/config", """{"Kind":"service-defaults","Name":"api","Protocol":"http"}"""));
        await PutExactAsync(a, "web", "api", """{"Permissions":[{"Action":"deny","HTTP":{"path_prefix":"/admin","Methods":["get"]}},{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}""");
        var rule = await a.JsonAsync(Exact("web", "api"));
        Assert.False(rule.TryGetProperty("Action", out _));
        var permissions = rule.GetProperty("Permissions");
        Assert.Equal(2, permissions.GetArrayLength());
        Assert.Equal("/admin", permissions[0].GetProperty("HTTP").GetProperty("PathPrefix").GetString());
        Assert.Equal("GET", permissions[0].GetProperty("HTTP").GetProperty("Methods")[0].GetString());
        // The service cannot go back to tcp while an L7 intention needs it.
        var (status, text) = await SendAsync(a, HttpMethod.Put, "/v1/config", """{"Kind":"service-defaults","Name":"api","Protocol":"tcp"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("incompatible with L7 intentions permissions", text);
    }

    [Fact]
    public async Task DeleteExact_LastSource_DeletesTheEntry_AbsentIsFine()
    {
        await using var a = await InProcessAgent.StartAsync();
        await PutExactAsync(a, "web", "db", """{"Action":"allow"}""");
        await PutExactAsync(a, "api", "db", """{"Action":"allow"}""");
        Assert.Equal((HttpStatusCode.OK, "true"), await SendAsync(a, HttpMethod.Delete, Exact("web", "db")));
        Assert.Equal(["api:allow"], await SourcesAsync(a, "db"));
        Assert.Equal((HttpStatusCode.NotFound, "Intention not found"), await SendAsync(a, HttpMethod.Get, Exact("web", "db")));
        Assert.Equal((HttpStatusCode.OK, "true"), await SendAsync(a, HttpMethod.Delete, Exact("api", "db")));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(a, HttpMethod.Get, "/v1/config/service-intentions/db")).Status);
        Assert.Equal((HttpStatusCode.OK, "true"), await SendAsync(a, HttpMethod.Delete, Exact("api", "db")));
        Assert.Equal((HttpStatusCode.BadRequest, "required query parameter 'destination' not set"),
            await SendAsync(a, HttpMethod.Delete, "/v1/connect/intentions/exact?source=web"));
    }

    [Fact]
    public async Task LegacyCreate_StoresIdTimesAndMeta_DuplicateRefusedWithConsulsMessage()
    {
        await using var a = await InProcessAgent.StartAsync();
        var before = DateTime.UtcNow.AddSeconds(-1);
        var id = await CreateLegacyAsync(a, """{"SourceName":"web","DestinationName":"db","SourceType":"consul","Action":"allow","Description":"d","Meta":{"team":"a"}}""");
        Assert.True(Guid.TryParseExact(id, "D", out _), id);

        var rule = await a.JsonAsync($"/v1/connect/intentions/{id}");
        Assert.Equal(id, rule.GetProperty("ID").GetString());
        Assert.Equal("web", rule.GetProperty("SourceName").GetString());
        Assert.Equal("db", rule.GetProperty("DestinationName").GetString());
        Assert.Equal("a", rule.GetProperty("Meta").GetProperty("team").GetString());
        var created = rule.GetProperty("CreatedAt").GetDateTime();
        Assert.InRange(created, before, DateTime.UtcNow.AddSeconds(1));
        Assert.Equal(created, rule.GetProperty("UpdatedAt").GetDateTime());
        Assert.Equal(id, (await a.JsonAsync(Exact("web", "db"))).GetProperty("ID").GetString());

        var source = (await a.JsonAsync("/v1/config/service-intentions/db")).GetProperty("Sources")[0];
        Assert.Equal(id, source.GetProperty("LegacyID").GetString());
        Assert.Equal("a", source.GetProperty("LegacyMeta").GetProperty("team").GetString());
        Assert.Equal(created, source.GetProperty("LegacyCreateTime").GetDateTime());

        Assert.Equal((HttpStatusCode.BadRequest, "Sources[1] defines \"web\" more than once"),
            await SendAsync(a, HttpMethod.Post, "/v1/connect/intentions", """{"SourceName":"web","DestinationName":"db","Action":"deny"}"""));
        Assert.Equal(1, (await a.JsonAsync("/v1/connect/intentions")).GetArrayLength());
    }

    public static TheoryData<string, string> BadLegacyCreates() => new()
    {
        { """{"DestinationName":"db","Action":"allow"}""", "SourceName must be set" },
        { """{"SourceName":"web","Action":"allow"}""", "DestinationName must be set" },
        { """{"SourceName":"web","DestinationName":"db"}""", "Action must be set to 'allow' or 'deny'" },
        { """{"SourceName":"w*","DestinationName":"db","Action":"allow"}""", "SourceName: wildcard character '*' cannot be used with partial values" },
        { """{"SourceName":"web","DestinationName":"db","Action":"allow","SourceType":"x"}""", "SourceType must be set to 'consul'" },
        { """{"SourceName":"web","DestinationName":"db","Action":"allow","SourceNS":"team"}""", "SourceNS \"team\" is not supported" },
        { """{"ID":"0a8b5f1e-0000-0000-0000-000000000001","SourceName":"web","DestinationName":"db","Action":"allow"}""", "ID must be empty when creating a new intention" },
        { """{"SourceName":"web","DestinationName":"db","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}""", "Permissions cannot be set through the legacy intentions API" },
        { """{"SourceName":"web","DestinationName":"db","Action":"allow","Meta":{"k":1}}""", "Failed to decode request body: Meta[\"k\"] must be a string" },
        { "{", "Failed to decode request body: " },
        { $$"""{"SourceName":"web","DestinationName":"db","Action":"allow","Description":"{{new string('x', 513)}}"}""", "Description exceeds maximum length 512" },
    };

    [Theory]
    [MemberData(nameof(BadLegacyCreates))]
    public async Task LegacyCreate_Invalid_400SaysWhy(string body, string expected)
    {
        await using var a = await InProcessAgent.StartAsync();
        var (status, text) = await SendAsync(a, HttpMethod.Post, "/v1/connect/intentions", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(expected, text);
    }

    [Fact]
    public async Task ById_UpdateKeepsIdAndCreateTime_DeleteRemoves_UnknownIs404_MalformedIs400()
    {
        var clock = new Fixtures.ManualClock(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var a = await InProcessAgent.StartAsync(time: clock);
        var id = await CreateLegacyAsync(a, """{"SourceName":"web","DestinationName":"db","Action":"allow","Meta":{"v":"1"}}""");
        clock.Advance(TimeSpan.FromMinutes(5));

        var (status, text) = await SendAsync(a, HttpMethod.Put, $"/v1/connect/intentions/{id}",
            """{"SourceName":"web","DestinationName":"db","Action":"deny","Meta":{"v":"2"},"Precedence":1,"CreatedAt":"2000-01-01T00:00:00Z","Hash":"eA=="}""");
        Assert.Equal((HttpStatusCode.OK, $$"""{"ID":"{{id}}"}"""), (status, text));
        var rule = await a.JsonAsync($"/v1/connect/intentions/{id}");
        Assert.Equal("deny", rule.GetProperty("Action").GetString());
        Assert.Equal("2", rule.GetProperty("Meta").GetProperty("v").GetString());
        Assert.Equal(new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc), rule.GetProperty("CreatedAt").GetDateTime().ToUniversalTime());
        Assert.Equal(new DateTime(2025, 3, 1, 12, 5, 0, DateTimeKind.Utc), rule.GetProperty("UpdatedAt").GetDateTime().ToUniversalTime());

        // The source may be renamed; the destination may not.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(a, HttpMethod.Put, $"/v1/connect/intentions/{id}",
            """{"SourceName":"api","DestinationName":"db","Action":"deny"}""")).Status);
        Assert.Equal("api", (await a.JsonAsync($"/v1/connect/intentions/{id}")).GetProperty("SourceName").GetString());
        Assert.Equal((HttpStatusCode.BadRequest, "Cannot modify Destination partition/namespace/name for an intention once it exists."),
            await SendAsync(a, HttpMethod.Put, $"/v1/connect/intentions/{id}", """{"SourceName":"api","DestinationName":"cache","Action":"deny"}"""));

        Assert.Equal((HttpStatusCode.OK, "true"), await SendAsync(a, HttpMethod.Delete, $"/v1/connect/intentions/{id.ToUpperInvariant()}"));
        Assert.Equal((HttpStatusCode.NotFound, "Intention not found"), await SendAsync(a, HttpMethod.Get, $"/v1/connect/intentions/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(a, HttpMethod.Get, "/v1/config/service-intentions/db")).Status);

        Assert.Equal((HttpStatusCode.NotFound, $"Cannot modify non-existent intention: '{id}'"),
            await SendAsync(a, HttpMethod.Put, $"/v1/connect/intentions/{id}", """{"SourceName":"web","DestinationName":"db","Action":"deny"}"""));
        Assert.Equal((HttpStatusCode.NotFound, $"Cannot delete non-existent intention: '{id}'"), await SendAsync(a, HttpMethod.Delete, $"/v1/connect/intentions/{id}"));
        Assert.Equal((HttpStatusCode.BadRequest, "UUID must be 36 characters"), await SendAsync(a, HttpMethod.Get, "/v1/connect/intentions/not-a-uuid"));
        Assert.Equal((HttpStatusCode.BadRequest, "UUID improperly formatted"),
            await SendAsync(a, HttpMethod.Delete, "/v1/connect/intentions/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await SendAsync(a, HttpMethod.Post, $"/v1/connect/intentions/{id}", "{}")).Status);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await SendAsync(a, HttpMethod.Post, Exact("web", "db"), "{}")).Status);
    }

    [Fact]
    public async Task LegacyAndExact_OnOneDestination_KeepEachOther()
    {
        await using var a = await InProcessAgent.StartAsync();
        var id = await CreateLegacyAsync(a, """{"SourceName":"web","DestinationName":"db","Action":"allow","Meta":{"k":"v"}}""");
        await PutExactAsync(a, "api", "db", """{"Action":"deny"}""");
        var legacy = await a.JsonAsync($"/v1/connect/intentions/{id}");
        Assert.Equal("v", legacy.GetProperty("Meta").GetProperty("k").GetString());
        var id2 = await CreateLegacyAsync(a, """{"SourceName":"cache","DestinationName":"db","Action":"allow"}""");
        Assert.Equal(["web:allow", "api:deny", "cache:allow"], await SourcesAsync(a, "db"));
        // An exact write over a legacy intention turns it into one written by name.
        await PutExactAsync(a, "cache", "db", """{"Action":"deny"}""");
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(a, HttpMethod.Get, $"/v1/connect/intentions/{id2}")).Status);
        Assert.Equal(id, (await a.JsonAsync(Exact("web", "db"))).GetProperty("ID").GetString());
    }

    [Fact]
    public async Task ConcurrentWriters_OneDestination_NoSourceLost()
    {
        await using var a = await InProcessAgent.StartAsync();
        const int PerWriter = 20;
        // Two writers race on one entry: one by name, one the legacy way; every write reads, changes one source
        // and checks-and-sets the entry, so each lost race is retried rather than overwriting the other's source.
        var byName = Task.WhenAll(Enumerable.Range(0, PerWriter).Select(i => PutExactAsync(a, $"exact-{i}", "db", """{"Action":"allow"}""")));
        var legacy = Task.WhenAll(Enumerable.Range(0, PerWriter).Select(i =>
            CreateLegacyAsync(a, $$"""{"SourceName":"legacy-{{i}}","DestinationName":"db","Action":"deny"}""")));
        await Task.WhenAll(byName, legacy);
        var sources = await SourcesAsync(a, "db");
        Assert.Equal(2 * PerWriter, sources.Count);
        Assert.Equal(Enumerable.Range(0, PerWriter).Select(i => $"exact-{i}:allow").Concat(Enumerable.Range(0, PerWriter).Select(i => $"legacy-{i}:deny")).Order(),
            sources.Order());
        Assert.Equal(PerWriter, legacy.Result.Distinct().Count());

        // And deletes racing writes.
        var deletes = Task.WhenAll(Enumerable.Range(0, PerWriter).Select(i => SendAsync(a, HttpMethod.Delete, Exact($"exact-{i}", "db"))));
        var more = Task.WhenAll(Enumerable.Range(0, PerWriter).Select(i => PutExactAsync(a, $"late-{i}", "db", """{"Action":"allow"}""")));
        await Task.WhenAll(deletes, more);
        Assert.All(deletes.Result, r => Assert.Equal((HttpStatusCode.OK, "true"), r));
        Assert.Equal(2 * PerWriter, (await SourcesAsync(a, "db")).Count);
    }

    [Fact]
    public async Task List_BlockingQuery_WakesOnAnExactWrite()
    {
        await using var a = await InProcessAgent.StartAsync();
        await PutExactAsync(a, "web", "db", """{"Action":"allow"}""");
        using var first = await a.GetAsync("/v1/connect/intentions");
        var index = InProcessAgent.Index(first);
        var blocked = a.GetAsync($"/v1/connect/intentions?index={index}&wait=30s");
        await PutExactAsync(a, "api", "db", """{"Action":"deny"}""");
        using var woken = await blocked;
        Assert.True(InProcessAgent.Index(woken) > index);
        Assert.Equal(2, JsonDocument.Parse(await woken.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task MatchCheckAndFilter_SeeWrittenIntentionsInPrecedenceOrder()
    {
        await using var a = await InProcessAgent.StartAsync();
        await PutExactAsync(a, "web", "db", """{"Action":"allow"}""");
        await PutExactAsync(a, "*", "db", """{"Action":"deny"}""");
        await PutExactAsync(a, "web", "*", """{"Action":"deny"}""");
        await PutExactAsync(a, "*", "*", """{"Action":"allow"}""");

        var match = await a.JsonAsync("/v1/connect/intentions/match?by=destination&name=db");
        Assert.Equal(["web=>db", "*=>db", "web=>*", "*=>*"],
            match.GetProperty("db").EnumerateArray().Select(i => $"{i.GetProperty("SourceName").GetString()}=>{i.GetProperty("DestinationName").GetString()}"));
        var bySource = await a.JsonAsync("/v1/connect/intentions/match?by=source&name=web");
        Assert.Equal([9, 8, 6, 5], bySource.GetProperty("web").EnumerateArray().Select(i => i.GetProperty("Precedence").GetInt32()));

        async Task<bool> Check(string s, string d) =>
            (await a.JsonAsync($"/v1/connect/intentions/check?source={s}&destination={d}")).GetProperty("Allowed").GetBoolean();
        Assert.True(await Check("web", "db"));
        Assert.False(await Check("api", "db"));
        Assert.False(await Check("web", "cache"));
        Assert.True(await Check("api", "cache"));

        var denies = await a.JsonAsync("/v1/connect/intentions?filter=" + Uri.EscapeDataString("Action == deny"));
        Assert.Equal(2, denies.GetArrayLength());
        var noId = await a.JsonAsync("/v1/connect/intentions?filter=" + Uri.EscapeDataString("ID == \"\" and Description == \"\""));
        Assert.Equal(4, noId.GetArrayLength());
        Assert.Equal((HttpStatusCode.BadRequest, "'by' parameter must be one of 'source' or 'destination'"),
            await SendAsync(a, HttpMethod.Get, "/v1/connect/intentions/match?by=x&name=db"));
    }

    private static async Task<(bool Authorized, string Reason)> AuthorizeAsync(InProcessAgent a, string source, string target)
    {
        var td = (await a.JsonAsync("/v1/connect/ca/roots")).GetProperty("TrustDomain").GetString()!;
        using var resp = await a.SendAsync(HttpMethod.Post, "/v1/agent/connect/authorize",
            $$"""{"Target":"{{target}}","ClientCertURI":"spiffe://{{td}}/ns/default/dc/dc1/svc/{{source}}","ClientCertSerial":"01"}""");
        var text = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, text);
        var json = JsonDocument.Parse(text).RootElement;
        return (json.GetProperty("Authorized").GetBoolean(), json.GetProperty("Reason").GetString()!);
    }

    [Fact]
    public async Task Authorize_ExactAllowAndDeny_DecidedByWhatWasWritten()
    {
        await using var a = await InProcessAgent.StartAsync();
        await PutExactAsync(a, "web", "db", """{"Action":"allow"}""");
        await CreateLegacyAsync(a, """{"SourceName":"api","DestinationName":"db","Action":"deny"}""");
        Assert.Equal((true, "Matched L4 intention: default/web => default/db (Precedence: 9, Action: ALLOW)"), await AuthorizeAsync(a, "web", "db"));
        Assert.Equal((false, "Matched L4 intention: default/api => default/db (Precedence: 9, Action: DENY)"), await AuthorizeAsync(a, "api", "db"));
        Assert.Equal((true, "Default behavior configured by ACLs"), await AuthorizeAsync(a, "cache", "db"));

        // A change is seen by the very next decision.
        await PutExactAsync(a, "web", "db", """{"Action":"deny"}""");
        Assert.False((await AuthorizeAsync(a, "web", "db")).Authorized);
        Assert.Equal((HttpStatusCode.OK, "true"), await SendAsync(a, HttpMethod.Delete, Exact("web", "db")));
        Assert.Equal((true, "Default behavior configured by ACLs"), await AuthorizeAsync(a, "web", "db"));
    }

    [Fact]
    public async Task Authorize_Wildcards_MostSpecificWins()
    {
        await using var a = await InProcessAgent.StartAsync();
        await PutExactAsync(a, "*", "*", """{"Action":"deny"}""");
        await PutExactAsync(a, "*", "db", """{"Action":"allow"}""");
        await PutExactAsync(a, "web", "*", """{"Action":"allow"}""");
        await PutExactAsync(a, "web", "db", """{"Action":"deny"}""");
        Assert.Equal((false, "Matched L4 intention: default/web => default/db (Precedence: 9, Action: DENY)"), await AuthorizeAsync(a, "web", "db"));
        Assert.Equal((true, "Matched L4 intention: default/* => default/db (Precedence: 8, Action: ALLOW)"), await AuthorizeAsync(a, "api", "db"));
        Assert.Equal((true, "Matched L4 intention: default/web => default/* (Precedence: 6, Action: ALLOW)"), await AuthorizeAsync(a, "web", "cache"));
        Assert.Equal((false, "Matched L4 intention: default/* => default/* (Precedence: 5, Action: DENY)"), await AuthorizeAsync(a, "api", "cache"));
    }

    [Fact]
    public async Task Authorize_L7Intention_CountsAsDeny()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal((HttpStatusCode.OK, "true"), await SendAsync(a, HttpMethod.Put, "/v1/config", """{"Kind":"service-defaults","Name":"api","Protocol":"http"}"""));
        await PutExactAsync(a, "web", "api", """{"Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}]}""");
        Assert.Equal((false, "Matched L7 intention: default/web => default/api (Precedence: 9)"), await AuthorizeAsync(a, "web", "api"));
        Assert.False((await a.JsonAsync("/v1/connect/intentions/check?source=web&destination=api")).GetProperty("Allowed").GetBoolean());
    }

    [Fact]
    public async Task Authorize_DefaultIntentionPolicyDeny_DeniesUnmatched()
    {
        await using var a = await InProcessAgent.StartAsync(c => c with { DefaultIntentionPolicy = "deny" });
        await PutExactAsync(a, "web", "db", """{"Action":"allow"}""");
        Assert.True((await AuthorizeAsync(a, "web", "db")).Authorized);
        Assert.Equal((false, "Default intention policy"), await AuthorizeAsync(a, "api", "db"));
        Assert.False((await a.JsonAsync("/v1/connect/intentions/check?source=api&destination=db")).GetProperty("Allowed").GetBoolean());
    }
}
