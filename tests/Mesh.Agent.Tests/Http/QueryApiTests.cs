using System.Net;
using System.Text.Json;

namespace Mesh.Agent.Tests.Http;

public class QueryApiTests
{
    private static string Registration(string node, string id, string status = "passing", string tags = "", string nodeMeta = "{}",
        string meta = "{}", string service = "web") => $$$"""
        {"Node":"{{{node}}}","Address":"10.0.0.9","NodeMeta":{{{nodeMeta}}},
         "Service":{"Service":"{{{service}}}","ID":"{{{id}}}","Port":8080,"Tags":[{{{tags}}}],"Meta":{{{meta}}}},
         "Check":{"Name":"alive","CheckID":"alive-{{{id}}}","ServiceID":"{{{id}}}","Status":"{{{status}}}"}}
        """;

    private static async Task Register(InProcessAgent a, string body)
    {
        using var r = await a.PutAsync("/v1/catalog/register", body);
        Assert.Equal("true", await r.Content.ReadAsStringAsync());
    }

    private static async Task<string> Create(InProcessAgent a, string body)
    {
        using var r = await a.SendAsync(HttpMethod.Post, "/v1/query", body);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, text);
        var doc = JsonDocument.Parse(text).RootElement;
        Assert.Equal(["ID"], doc.EnumerateObject().Select(p => p.Name));
        return doc.GetProperty("ID").GetString()!;
    }

    private static async Task<(int Status, string Text)> Send(InProcessAgent a, HttpMethod method, string path, string? body = null)
    {
        using var r = await a.SendAsync(method, path, body);
        return ((int)r.StatusCode, (await r.Content.ReadAsStringAsync()).Trim());
    }

    private static async Task<string[]> Execute(InProcessAgent a, string nameAndQuery, bool sorted = true)
    {
        var nodes = (await a.JsonAsync($"/v1/query/{nameAndQuery}")).GetProperty("Nodes").EnumerateArray()
            .Select(e => e.GetProperty("Service").GetProperty("ID").GetString()!);
        return sorted ? [.. nodes.Order(StringComparer.Ordinal)] : [.. nodes];
    }

    [Fact]
    public async Task CreateListGetUpdateDelete_ConsulShapesAndIndexes()
    {
        await using var a = await InProcessAgent.StartAsync();
        var id = await Create(a, """
            {"Name":"my-query","Token":"tok","Service":{"Service":"redis","Failover":{"NearestN":3,"Datacenters":["dc1","dc2"]},
             "OnlyPassing":true,"Near":"node1","Tags":["primary","!experimental"],"NodeMeta":{"instance_type":"m3.large"},
             "ServiceMeta":{"environment":"production"},"IgnoreCheckIDs":["flaky"]},"DNS":{"TTL":"10s"}}
            """);
        Assert.True(Guid.TryParse(id, out _));

        using var list = await a.GetAsync("/v1/query");
        var listIndex = InProcessAgent.Index(list);
        var q = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.EnumerateArray().Single();
        Assert.Equal(["ID", "Name", "Session", "Token", "Template", "Service", "DNS", "CreateIndex", "ModifyIndex"], q.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["Service", "Failover", "OnlyPassing", "IgnoreCheckIDs", "Near", "Tags", "NodeMeta", "ServiceMeta", "Connect"],
            q.GetProperty("Service").EnumerateObject().Select(p => p.Name));
        Assert.Equal((id, "my-query", "tok", "10s"), (q.GetProperty("ID").GetString(), q.GetProperty("Name").GetString(),
            q.GetProperty("Token").GetString(), q.GetProperty("DNS").GetProperty("TTL").GetString()));
        var service = q.GetProperty("Service");
        Assert.Equal(3, service.GetProperty("Failover").GetProperty("NearestN").GetInt32());
        Assert.Equal(JsonValueKind.Null, service.GetProperty("Failover").GetProperty("Targets").ValueKind);
        Assert.Equal(["primary", "!experimental"], service.GetProperty("Tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("m3.large", service.GetProperty("NodeMeta").GetProperty("instance_type").GetString());
        Assert.Equal(listIndex, q.GetProperty("ModifyIndex").GetUInt64());
        Assert.Equal("", q.GetProperty("Template").GetProperty("Type").GetString());

        var one = await a.JsonAsync($"/v1/query/{id}");
        Assert.Equal(id, one.EnumerateArray().Single().GetProperty("ID").GetString());

        var (status, text) = await Send(a, HttpMethod.Put, $"/v1/query/{id}", """{"Name":"renamed","Service":{"Service":"redis"}}""");
        Assert.Equal((200, ""), (status, text));
        var updated = (await a.JsonAsync($"/v1/query/{id}"))[0];
        Assert.Equal("renamed", updated.GetProperty("Name").GetString());
        // An update replaces the whole definition.
        Assert.Equal(JsonValueKind.Null, updated.GetProperty("Service").GetProperty("Tags").ValueKind);
        Assert.Equal(q.GetProperty("CreateIndex").GetUInt64(), updated.GetProperty("CreateIndex").GetUInt64());
        Assert.True(updated.GetProperty("ModifyIndex").GetUInt64() > listIndex);

        Assert.Equal((200, ""), await Send(a, HttpMethod.Delete, $"/v1/query/{id}"));
        Assert.Equal(0, (await a.JsonAsync("/v1/query")).GetArrayLength());
        Assert.Equal((404, "Query not found"), await Send(a, HttpMethod.Get, $"/v1/query/{id}"));
    }

    [Fact]
    public async Task UnknownQuery_GetUpdateDeleteExecuteExplain_Answer404()
    {
        await using var a = await InProcessAgent.StartAsync();
        var ghost = Guid.NewGuid().ToString();
        using (var get = await a.GetAsync($"/v1/query/{ghost}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
            Assert.Equal("Query not found", (await get.Content.ReadAsStringAsync()).Trim());
            Assert.True(InProcessAgent.Index(get) >= 1);
        }
        Assert.Equal((404, $"Cannot modify non-existent prepared query: '{ghost}'"),
            await Send(a, HttpMethod.Put, $"/v1/query/{ghost}", """{"Name":"x","Service":{"Service":"web"}}"""));
        Assert.Equal((404, $"Cannot modify non-existent prepared query: '{ghost}'"), await Send(a, HttpMethod.Delete, $"/v1/query/{ghost}"));
        Assert.Equal((404, "Query not found"), await Send(a, HttpMethod.Get, $"/v1/query/{ghost}/execute"));
        Assert.Equal((404, "Query not found"), await Send(a, HttpMethod.Get, "/v1/query/no-such-name/execute"));
        Assert.Equal((404, "Query not found"), await Send(a, HttpMethod.Get, "/v1/query/no-such-name/explain"));
    }

    [Theory]
    [InlineData("", "Request decode failed")]
    [InlineData("{", "Request decode failed")]
    [InlineData("[]", "Request decode failed: the body must be a JSON object")]
    [InlineData("""{"Name":5,"Service":{"Service":"web"}}""", "Request decode failed: Name must be a string")]
    [InlineData("""{"Name":"q","Service":"web"}""", "Request decode failed: Service must be a JSON object")]
    [InlineData("""{"Name":"q","Service":{"Service":"web","Tags":"a"}}""", "Request decode failed: Service.Tags must be an array of strings")]
    [InlineData("""{"Name":"q","Service":{"Service":"web","OnlyPassing":"yes"}}""", "Request decode failed: Service.OnlyPassing must be a boolean")]
    [InlineData("""{"Name":"q","Service":{"Service":"web","Failover":{"NearestN":1.5}}}""", "Request decode failed: Service.Failover.NearestN must be an integer")]
    [InlineData("""{"Name":"q","Service":{"Service":"web","NodeMeta":{"k":1}}}""", "Request decode failed: Service.NodeMeta.k must be a string")]
    [InlineData("""{"ID":"abc","Name":"q","Service":{"Service":"web"}}""", "ID must be empty when creating a new prepared query")]
    [InlineData("""{"Service":{"Service":"web"}}""", "Invalid prepared query: Must be bound to a session")]
    [InlineData("""{"Name":"q"}""", "Invalid prepared query: Must provide a Service name to query")]
    [InlineData("""{"Name":"q","Token":"<hidden>","Service":{"Service":"web"}}""", "Invalid prepared query: Bad Token '<hidden>'")]
    [InlineData("""{"Name":"q","Service":{"Service":"web","Failover":{"NearestN":-1}}}""", "Invalid prepared query: Bad NearestN '-1', must be >= 0")]
    [InlineData("""{"Name":"q","Service":{"Service":"web","Failover":{"NearestN":1,"Targets":[{"Peer":"p"}]}}}""", "Invalid prepared query: Targets cannot be populated with NearestN or Datacenters")]
    [InlineData("""{"Name":"q","Service":{"Service":"web","NodeMeta":{"bad key":"v"}}}""", "Invalid prepared query: Couldn't load metadata pair ('bad key', 'v'): Key contains invalid characters")]
    [InlineData("""{"Name":"q","Service":{"Service":"web"},"DNS":{"TTL":"soon"}}""", "Invalid prepared query: Bad DNS TTL 'soon': time: invalid duration \"soon\"")]
    [InlineData("""{"Name":"q","Service":{"Service":"web"},"DNS":{"TTL":"-1s"}}""", "Invalid prepared query: DNS TTL '-1000000000', must be >=0")]
    [InlineData("""{"Name":"q","Session":"nope","Service":{"Service":"web"}}""", "invalid session \"nope\"")]
    [InlineData("""{"Name":"t","Template":{"Type":"name_prefix_match","Regexp":"("},"Service":{"Service":"web"}}""", "failed compiling template: Bad Regexp")]
    [InlineData("""{"Name":"t","Template":{"Type":"glob"},"Service":{"Service":"web"}}""", "failed compiling template: Bad Template.Type 'glob'")]
    [InlineData("""{"Name":"t","Template":{"Type":"name_prefix_match"},"Service":{"Service":"${name.nope}"}}""", "failed compiling template: Bad evaluation")]
    public async Task Create_BadBody_Answers400WithTheReason(string body, string expected)
    {
        await using var a = await InProcessAgent.StartAsync();
        var (status, text) = await Send(a, HttpMethod.Post, "/v1/query", body);
        Assert.Equal(400, status);
        Assert.StartsWith(expected, text);
        Assert.DoesNotContain('\n', text);
        Assert.Equal(0, (await a.JsonAsync("/v1/query")).GetArrayLength());
    }

    [Fact]
    public async Task Update_IdFromThePath_EmptyOrInvalidBodyIs400_AndNothingChanges()
    {
        await using var a = await InProcessAgent.StartAsync();
        var id = await Create(a, """{"Name":"q","Service":{"Service":"web"}}""");
        var other = Guid.NewGuid().ToString();
        Assert.Equal((200, ""), await Send(a, HttpMethod.Put, $"/v1/query/{id.ToUpperInvariant()}",
            $$$"""{"ID":"{{{other}}}","Name":"q2","Service":{"Service":"db"}}"""));
        var stored = (await a.JsonAsync("/v1/query")).EnumerateArray().Single();
        Assert.Equal((id, "q2", "db"), (stored.GetProperty("ID").GetString(), stored.GetProperty("Name").GetString(),
            stored.GetProperty("Service").GetProperty("Service").GetString()));
        Assert.Equal((400, "Invalid prepared query: Must be bound to a session"), await Send(a, HttpMethod.Put, $"/v1/query/{id}"));
        Assert.Equal((400, "Invalid prepared query: Must provide a Service name to query"), await Send(a, HttpMethod.Put, $"/v1/query/{id}", """{"Name":"q3"}"""));
        Assert.Equal((400, "Missing query ID"), await Send(a, HttpMethod.Put, "/v1/query/", """{"Name":"q3","Service":{"Service":"web"}}"""));
        Assert.Equal("q2", (await a.JsonAsync($"/v1/query/{id}"))[0].GetProperty("Name").GetString());
    }

    [Fact]
    public async Task Create_DuplicateNameOrSecondCatchAll_Answers400()
    {
        await using var a = await InProcessAgent.StartAsync();
        await Create(a, """{"Name":"dup","Service":{"Service":"web"}}""");
        await Create(a, """{"Template":{"Type":"name_prefix_match"},"Service":{"Service":"${name.full}"}}""");
        Assert.Equal((400, "name 'DUP' aliases an existing query name"), await Send(a, HttpMethod.Post, "/v1/query", """{"Name":"DUP","Service":{"Service":"web"}}"""));
        Assert.Equal((400, "a query template with an empty name already exists"),
            await Send(a, HttpMethod.Post, "/v1/query", """{"Template":{"Type":"name_prefix_match"},"Service":{"Service":"x"}}"""));
    }

    [Fact]
    public async Task Execute_FiltersByHealthTagsMetaAndLimit()
    {
        await using var a = await InProcessAgent.StartAsync();
        await Register(a, Registration("n1", "w1", tags: "\"primary\",\"v1\"", nodeMeta: """{"zone":"a"}""", meta: """{"version":"1"}"""));
        await Register(a, Registration("n2", "w2", "warning", tags: "\"Primary\",\"canary\"", nodeMeta: """{"zone":"b"}""", meta: """{"version":"2"}"""));
        await Register(a, Registration("n3", "w3", "critical", tags: "\"primary\""));
        await Register(a, Registration("n4", "w4", tags: "\"v1\"", nodeMeta: """{"zone":"a"}""", meta: """{"version":"2"}"""));
        await Create(a, """{"Name":"all","Service":{"Service":"web"}}""");
        await Create(a, """{"Name":"passing","Service":{"Service":"web","OnlyPassing":true}}""");
        await Create(a, """{"Name":"primary","Service":{"Service":"web","Tags":["PRIMARY"]}}""");
        await Create(a, """{"Name":"stable","Service":{"Service":"web","Tags":["primary","!Canary"]}}""");
        await Create(a, """{"Name":"zone-a","Service":{"Service":"web","NodeMeta":{"zone":"a"}}}""");
        await Create(a, """{"Name":"v2","Service":{"Service":"web","ServiceMeta":{"version":"2"}}}""");
        await Create(a, """{"Name":"ignoring","Service":{"Service":"web","IgnoreCheckIDs":["alive-w3"]}}""");

        Assert.Equal(["w1", "w2", "w4"], await Execute(a, "all/execute"));
        Assert.Equal(["w1", "w4"], await Execute(a, "passing/execute"));
        Assert.Equal(["w1", "w2"], await Execute(a, "primary/execute"));
        Assert.Equal(["w1"], await Execute(a, "stable/execute"));
        Assert.Equal(["w1", "w4"], await Execute(a, "zone-a/execute"));
        Assert.Equal(["w2", "w4"], await Execute(a, "v2/execute"));
        Assert.Equal(["w1", "w2", "w3", "w4"], await Execute(a, "ignoring/execute"));
        Assert.Equal(2, (await Execute(a, "all/execute?limit=2")).Length);
        Assert.Equal(["w2"], await Execute(a, "all/execute?limit=1&near=n2"));
        // Names resolve regardless of case.
        Assert.Equal(["w1"], await Execute(a, "STABLE/execute"));
    }

    [Fact]
    public async Task Execute_Answer_HasConsulsShapeAndIndex()
    {
        await using var a = await InProcessAgent.StartAsync();
        await Register(a, Registration("n1", "w1"));
        var id = await Create(a, """{"Name":"q","Service":{"Service":"web"},"DNS":{"TTL":"30s"}}""");
        using var resp = await a.GetAsync($"/v1/query/{id}/execute");
        var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(["Service", "Nodes", "DNS", "Datacenter", "Failovers", "Index", "LastContact", "KnownLeader", "ConsistencyLevel",
            "NotModified", "Backend", "ResultsFilteredByACLs"], doc.EnumerateObject().Select(p => p.Name));
        Assert.Equal("web", doc.GetProperty("Service").GetString());
        Assert.Equal("30s", doc.GetProperty("DNS").GetProperty("TTL").GetString());
        Assert.Equal("dc1", doc.GetProperty("Datacenter").GetString());
        Assert.Equal(0, doc.GetProperty("Failovers").GetInt32());
        Assert.Equal(InProcessAgent.Index(resp), doc.GetProperty("Index").GetUInt64());
        var node = doc.GetProperty("Nodes")[0];
        Assert.Equal(["Node", "Service", "Checks"], node.EnumerateObject().Select(p => p.Name));
        Assert.Equal("n1", node.GetProperty("Node").GetProperty("Node").GetString());
        Assert.Equal("alive-w1", node.GetProperty("Checks")[0].GetProperty("CheckID").GetString());
    }

    [Fact]
    public async Task Execute_NearAgent_PutsTheAgentsInstanceFirst()
    {
        await using var a = await InProcessAgent.StartAsync();
        var self = (await a.JsonAsync("/v1/agent/self")).GetProperty("Config").GetProperty("NodeName").GetString()!;
        for (var i = 0; i < 4; i++) await Register(a, Registration("n" + i, "w" + i));
        using (var reg = await a.PutAsync("/v1/agent/service/register", """{"Name":"web","ID":"local","Port":80}"""))
            Assert.Equal(HttpStatusCode.OK, reg.StatusCode);
        await Create(a, """{"Name":"q","Service":{"Service":"web"}}""");
        await Create(a, """{"Name":"near-agent","Service":{"Service":"web","Near":"_agent"}}""");
        // Anti-entropy copies the agent's own service into the catalog.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await Execute(a, "q/execute")).Length < 5)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "the agent's service never reached the catalog");
            await Task.Delay(50);
        }
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("local", (await Execute(a, "q/execute?near=_agent", sorted: false))[0]);
            Assert.Equal("local", (await Execute(a, "near-agent/execute", sorted: false))[0]);
            Assert.Equal("w3", (await Execute(a, $"near-agent/execute?near=n3", sorted: false))[0]);
        }
        var entry = (await a.JsonAsync($"/v1/query/q/execute?near={self}&limit=1")).GetProperty("Nodes")[0];
        Assert.Equal(self, entry.GetProperty("Node").GetProperty("Node").GetString());
    }

    [Fact]
    public async Task Template_PrefixAndRegexp_InterpolateTheServiceBlock()
    {
        await using var a = await InProcessAgent.StartAsync();
        await Register(a, Registration("n1", "db-1", tags: "\"primary\"", service: "mysql-customer"));
        await Register(a, Registration("n2", "db-2", tags: "\"replica\"", service: "mysql-customer"));
        await Register(a, Registration("n3", "redis-1", service: "redis"));
        var geo = await Create(a, """
            {"Name":"geo-db","Template":{"Type":"name_prefix_match","Regexp":"^geo-db-(.*?)-([^\\-]+?)$"},
             "Service":{"Service":"mysql-${match(1)}","Tags":["${match(2)}"]}}
            """);
        await Create(a, """{"Name":"","Template":{"Type":"name_prefix_match"},"Service":{"Service":"${name.full}"}}""");
        await Create(a, """{"Name":"geo-db-customer-static","Service":{"Service":"redis"}}""");

        Assert.Equal(["db-1"], await Execute(a, "geo-db-customer-primary/execute"));
        Assert.Equal(["db-2"], await Execute(a, "geo-db-customer-replica/execute"));
        // A static query of that exact name wins over the template; the catch-all takes any other name.
        Assert.Equal(["redis-1"], await Execute(a, "geo-db-customer-static/execute"));
        Assert.Equal(["redis-1"], await Execute(a, "redis/execute"));
        Assert.Equal((400, "prepared query templates can only be resolved up by name, not by ID"), await Send(a, HttpMethod.Get, $"/v1/query/{geo}/execute"));

        var explained = await a.JsonAsync("/v1/query/geo-db-customer-primary/explain");
        var query = explained.GetProperty("Query");
        Assert.Equal((geo, "geo-db", "mysql-customer", "primary"), (query.GetProperty("ID").GetString(), query.GetProperty("Name").GetString(),
            query.GetProperty("Service").GetProperty("Service").GetString(), query.GetProperty("Service").GetProperty("Tags")[0].GetString()));
        Assert.Equal("name_prefix_match", query.GetProperty("Template").GetProperty("Type").GetString());
        Assert.True(explained.TryGetProperty("Index", out _));
        // The stored definition keeps the template text.
        Assert.Equal("mysql-${match(1)}", (await a.JsonAsync($"/v1/query/{geo}"))[0].GetProperty("Service").GetProperty("Service").GetString());
    }

    [Theory]
    [InlineData("?limit=x", "Bad limit: strconv.Atoi: parsing \"x\": invalid syntax")]
    [InlineData("?limit=99999999999999999999", "Bad limit: strconv.Atoi: parsing \"99999999999999999999\": value out of range")]
    [InlineData("?connect=maybe", "Error parsing 'connect' value: strconv.ParseBool: parsing \"maybe\": invalid syntax")]
    [InlineData("?index=abc", "Invalid index")]
    public async Task Execute_BadParameter_Answers400(string query, string expected)
    {
        await using var a = await InProcessAgent.StartAsync();
        await Create(a, """{"Name":"q","Service":{"Service":"web"}}""");
        Assert.Equal((400, expected), await Send(a, HttpMethod.Get, "/v1/query/q/execute" + query));
    }

    [Fact]
    public async Task ExecuteAndExplain_OtherMethods_Answer405WithAllow()
    {
        await using var a = await InProcessAgent.StartAsync();
        await Create(a, """{"Name":"q","Service":{"Service":"web"}}""");
        foreach (var path in (string[])["/v1/query/q/execute", "/v1/query/q/explain"])
        {
            using var r = await a.PutAsync(path, "{}");
            Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
            Assert.Equal("GET,OPTIONS", string.Join(",", r.Content.Headers.Allow));
        }
        Assert.Equal(405, (await Send(a, HttpMethod.Patch, "/v1/query")).Status);
    }

    [Fact]
    public async Task List_Blocking_WakesWhenAQueryIsCreated()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var first = await a.GetAsync("/v1/query");
        var blocked = a.GetAsync($"/v1/query?index={InProcessAgent.Index(first)}&wait=30s");
        await Register(a, Registration("n1", "w1"));
        await Create(a, """{"Name":"q","Service":{"Service":"web"}}""");
        // Woken by the catalog write, the list would have been empty: it must hold the query.
        using var resp = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
        Assert.True(InProcessAgent.Index(resp) > InProcessAgent.Index(first));
    }

    [Fact]
    public async Task SessionDestroy_DeletesTheQueriesBoundToIt()
    {
        await using var a = await InProcessAgent.StartAsync();
        var session = await a.CreateSessionAsync();
        var id = await Create(a, $$$"""{"Session":"{{{session}}}","Service":{"Service":"web"}}""");
        Assert.Equal(session, (await a.JsonAsync($"/v1/query/{id}"))[0].GetProperty("Session").GetString());
        using (await a.PutAsync($"/v1/session/destroy/{session}")) { }
        Assert.Equal((404, "Query not found"), await Send(a, HttpMethod.Get, $"/v1/query/{id}"));
    }
}
