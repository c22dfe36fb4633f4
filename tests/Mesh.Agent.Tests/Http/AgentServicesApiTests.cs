using System.Net;
using System.Text.Json;
using Mesh.Agent.Tests.Checks;

namespace Mesh.Agent.Tests.Http;

public class AgentServicesApiTests
{
    private static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 15)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(seconds), $"timed out waiting for: {what}");
            await Task.Delay(50);
        }
    }

    private static async Task<string[]> HealthNodes(InProcessAgent a, string service, bool passing = false) =>
        (await a.JsonAsync($"/v1/health/service/{service}{(passing ? "?passing" : "")}")).EnumerateArray()
            .Select(e => e.GetProperty("Service").GetProperty("ID").GetString()!).ToArray();

    [Fact]
    public async Task HttpCheck_PassingThenCriticalWhenTheServerStops_AndPassingFilterDropsIt()
    {
        await using var a = await InProcessAgent.StartAsync();
        var server = await TestHttpServer.StartAsync(ctx => { ctx.Response.StatusCode = 200; return Task.CompletedTask; });
        try
        {
            using var reg = await a.PutAsync("/v1/agent/service/register",
                $$$"""{"Name":"web","ID":"web-1","Port":8080,"Check":{"HTTP":"{{{server.Url}}}","Interval":"1s","Timeout":"500ms"}}""");
            Assert.Equal(HttpStatusCode.OK, reg.StatusCode);
            await Eventually(async () => (await HealthNodes(a, "web", passing: true)).Length == 1, "web passing in the catalog");
        }
        finally
        {
            await server.DisposeAsync();
        }
        await Eventually(async () => (await HealthNodes(a, "web", passing: true)).Length == 0, "web dropped from ?passing");
        var check = (await a.JsonAsync("/v1/health/checks/web")).EnumerateArray().Single();
        Assert.Equal("critical", check.GetProperty("Status").GetString());
        Assert.Equal("http", check.GetProperty("Type").GetString());
        using var code = await a.GetAsync("/v1/agent/health/service/id/web-1");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, code.StatusCode);
        using (var dereg = await a.PutAsync("/v1/agent/service/deregister/web-1")) Assert.Equal(HttpStatusCode.OK, dereg.StatusCode);
        await Eventually(async () => (await HealthNodes(a, "web")).Length == 0, "web deregistered from the catalog");
    }

    [Fact]
    public async Task SidecarService_IsExpandedWithConsulsDefaults_AndGoesWithItsService()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/agent/service/register", """{"name":"counting","id":"counting-1","port":9003,"connect":{"sidecar_service":{}}}""");
        var services = await a.JsonAsync("/v1/agent/services");
        var sidecar = services.GetProperty("counting-1-sidecar-proxy");
        Assert.Equal("counting-sidecar-proxy", sidecar.GetProperty("Service").GetString());
        Assert.Equal("connect-proxy", sidecar.GetProperty("Kind").GetString());
        Assert.Equal(21000, sidecar.GetProperty("Port").GetInt32());
        var proxy = sidecar.GetProperty("Proxy");
        Assert.Equal("counting", proxy.GetProperty("DestinationServiceName").GetString());
        Assert.Equal("counting-1", proxy.GetProperty("DestinationServiceID").GetString());
        Assert.Equal(9003, proxy.GetProperty("LocalServicePort").GetInt32());
        var checks = await a.JsonAsync("/v1/agent/checks");
        Assert.Equal("Connect Sidecar Listening", checks.GetProperty("service:counting-1-sidecar-proxy:1").GetProperty("Name").GetString());
        Assert.Equal("alias", checks.GetProperty("service:counting-1-sidecar-proxy:2").GetProperty("Type").GetString());
        await Eventually(async () => (await a.JsonAsync("/v1/catalog/connect/counting")).GetArrayLength() == 1, "the sidecar in the catalog");

        // Re-registering without the sidecar removes it; so does deregistering the service.
        await a.PutAsync("/v1/agent/service/register", """{"name":"counting","id":"counting-1","port":9003}""");
        Assert.False((await a.JsonAsync("/v1/agent/services")).TryGetProperty("counting-1-sidecar-proxy", out _));
        await a.PutAsync("/v1/agent/service/register", """{"name":"counting","id":"counting-1","port":9003,"connect":{"sidecar_service":{}}}""");
        await a.PutAsync("/v1/agent/service/deregister/counting-1");
        Assert.Empty((await a.JsonAsync("/v1/agent/services")).EnumerateObject());
    }

    [Fact]
    public async Task TtlCheck_PassWarnFailUpdate_AndAliasFollowsIt()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/agent/service/register", """{"Name":"api","ID":"api-1","Check":{"CheckID":"api-ttl","TTL":"30s"}}""");
        await a.PutAsync("/v1/agent/service/register", """{"Name":"api-proxy","ID":"p1","Check":{"CheckID":"p1-alias","AliasService":"api-1"}}""");
        async Task<string> Status(string id) => (await a.JsonAsync("/v1/agent/checks")).GetProperty(id).GetProperty("Status").GetString()!;
        Assert.Equal("critical", await Status("api-ttl"));
        Assert.Equal("critical", await Status("p1-alias"));
        Assert.Equal(HttpStatusCode.OK, (await a.PutAsync("/v1/agent/check/pass/api-ttl?note=fine")).StatusCode);
        Assert.Equal("passing", await Status("api-ttl"));
        Assert.Equal("passing", await Status("p1-alias"));
        await a.PutAsync("/v1/agent/check/warn/api-ttl");
        Assert.Equal("warning", await Status("api-ttl"));
        using (var code = await a.GetAsync("/v1/agent/health/service/name/api")) Assert.Equal((HttpStatusCode)429, code.StatusCode);
        await a.PutAsync("/v1/agent/check/update/api-ttl", """{"Status":"passing","Output":"all good"}""");
        var check = (await a.JsonAsync("/v1/agent/checks")).GetProperty("api-ttl");
        Assert.Equal(("passing", "all good"), (check.GetProperty("Status").GetString(), check.GetProperty("Output").GetString()));
        await Eventually(async () => (await HealthNodes(a, "api", passing: true)).Length == 1, "api passing in the catalog");
        Assert.Equal(HttpStatusCode.NotFound, (await a.PutAsync("/v1/agent/check/pass/nope")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await a.PutAsync("/v1/agent/check/pass/p1-alias")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await a.PutAsync("/v1/agent/check/update/api-ttl", """{"Status":"great"}""")).StatusCode);
    }

    [Fact]
    public async Task AliasNode_FollowsAnotherNodesHealthFromTheCatalog()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/catalog/register", """{"Node":"far","Address":"10.0.0.7","Service":{"Service":"db","ID":"db-1"},"Check":{"CheckID":"db-alive","Name":"alive","ServiceID":"db-1","Status":"passing"}}""");
        await a.PutAsync("/v1/agent/service/register", """{"Name":"db-proxy","Check":{"CheckID":"mirror","AliasNode":"far","AliasService":"db-1"}}""");
        async Task<(string Status, string Output)> Mirror()
        {
            var c = (await a.JsonAsync("/v1/agent/checks")).GetProperty("mirror");
            return (c.GetProperty("Status").GetString()!, c.GetProperty("Output").GetString()!);
        }
        await Eventually(async () => (await Mirror()).Status == "passing", "alias passing");
        Assert.Equal("alias", (await a.JsonAsync("/v1/agent/checks")).GetProperty("mirror").GetProperty("Type").GetString());
        await a.PutAsync("/v1/catalog/register", """{"Node":"far","Address":"10.0.0.7","SkipNodeUpdate":true,"Check":{"CheckID":"db-alive","Name":"alive","ServiceID":"db-1","Status":"critical"}}""");
        await Eventually(async () => (await Mirror()).Status == "critical", "alias critical after the remote check failed");
        await a.PutAsync("/v1/catalog/register", """{"Node":"far","Address":"10.0.0.7","SkipNodeUpdate":true,"Check":{"CheckID":"db-alive","Name":"alive","ServiceID":"db-1","Status":"passing"}}""");
        await Eventually(async () => (await Mirror()).Status == "passing", "alias passing again");
        await a.PutAsync("/v1/catalog/deregister", """{"Node":"far"}""");
        await Eventually(async () => (await Mirror()).Output.Contains("could not be found"), "alias critical once the node is gone");
    }

    [Fact]
    public async Task Maintenance_ServiceAndNode()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/agent/service/register", """{"Name":"db","ID":"db-1","Check":{"TTL":"30s","Status":"passing"}}""");
        Assert.Equal(HttpStatusCode.OK, (await a.PutAsync("/v1/agent/service/maintenance/db-1?enable=true&reason=upgrade")).StatusCode);
        using (var text = await a.GetAsync("/v1/agent/health/service/id/db-1?format=text"))
            Assert.Equal(("maintenance", HttpStatusCode.ServiceUnavailable), ((await text.Content.ReadAsStringAsync()).Trim(), text.StatusCode));
        var maint = (await a.JsonAsync("/v1/agent/checks")).GetProperty("_service_maintenance:db-1");
        Assert.Equal("upgrade", maint.GetProperty("Notes").GetString());
        await a.PutAsync("/v1/agent/service/maintenance/db-1?enable=false");
        Assert.False((await a.JsonAsync("/v1/agent/checks")).TryGetProperty("_service_maintenance:db-1", out _));
        await a.PutAsync("/v1/agent/maintenance?enable=true");
        Assert.Equal("critical", (await a.JsonAsync("/v1/agent/checks")).GetProperty("_node_maintenance").GetProperty("Status").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await a.PutAsync("/v1/agent/maintenance")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await a.PutAsync("/v1/agent/service/maintenance/ghost?enable=true")).StatusCode);
    }

    [Fact]
    public async Task AntiEntropy_RestoresAServiceRemovedByHand_AndRemovesOnesTheAgentDoesNotHave()
    {
        await using var a = await InProcessAgent.StartAsync();
        var node = a.Host.Identity.NodeName;
        await a.PutAsync("/v1/agent/service/register", """{"Name":"keep","ID":"keep-1"}""");
        await Eventually(async () => (await a.JsonAsync("/v1/catalog/service/keep")).GetArrayLength() == 1, "keep in the catalog");
        await a.PutAsync("/v1/catalog/deregister", $$"""{"Node":"{{node}}","ServiceID":"keep-1"}""");
        await a.PutAsync("/v1/catalog/register", $$$"""{"Node":"{{{node}}}","Address":"127.0.0.1","SkipNodeUpdate":true,"Service":{"Service":"stray","ID":"stray-1"}}""");
        await Eventually(async () => (await a.JsonAsync("/v1/catalog/service/keep")).GetArrayLength() == 1, "keep restored");
        await Eventually(async () => (await a.JsonAsync("/v1/catalog/service/stray")).GetArrayLength() == 0, "stray removed");
    }

    [Fact]
    public async Task DeregisterCriticalServiceAfter_RemovesTheService()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/agent/service/register",
            """{"Name":"flaky","ID":"flaky-1","Check":{"TTL":"30s","DeregisterCriticalServiceAfter":"300ms"}}""");
        await Eventually(async () => !(await a.JsonAsync("/v1/agent/services")).TryGetProperty("flaky-1", out _), "flaky reaped");
    }

    [Theory]
    [InlineData("""{"destination_service_name":"db","local_service_port":5432,"upstreams":[{"destination_name":"cache","local_bind_port":6379,"config":{"protocol":"tcp"}}]}""")]
    [InlineData("""{"destinationServiceName":"db","localServicePort":5432,"upstreams":[{"destinationName":"cache","localBindPort":6379,"config":{"protocol":"tcp"}}]}""")]
    public async Task Register_ProxyFieldsInAnyCase_AreStoredCanonicallyAndFoundAsTheDestinationsProxy(string proxy)
    {
        await using var a = await InProcessAgent.StartAsync();
        using var reg = await a.PutAsync("/v1/agent/service/register",
            $$"""{"name":"db-proxy","id":"db-proxy-1","kind":"connect-proxy","port":21000,"proxy":{{proxy}}}""");
        Assert.Equal(HttpStatusCode.OK, reg.StatusCode);

        var stored = (await a.JsonAsync("/v1/agent/service/db-proxy-1")).GetProperty("Proxy");
        Assert.Equal("db", stored.GetProperty("DestinationServiceName").GetString());
        var upstream = stored.GetProperty("Upstreams")[0];
        Assert.Equal(("cache", 6379), (upstream.GetProperty("DestinationName").GetString(), upstream.GetProperty("LocalBindPort").GetInt32()));
        // The opaque Config map keeps its own keys.
        Assert.Equal("tcp", upstream.GetProperty("Config").GetProperty("protocol").GetString());
        await Eventually(async () => (await a.JsonAsync("/v1/catalog/connect/db")).GetArrayLength() == 1, "the proxy found for db");
    }

    [Theory]
    [InlineData("/v1/agent/service/register", """{"Port":1}""", "Missing service name")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Kind":"weird"}""", "Kind")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Kind":"connect-proxy"}""", "DestinationServiceName")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Port":99999}""", "Port")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Connect":"yes"}""", "Connect")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Kind":"connect-proxy","Proxy":{"DestinationServiceName":"d","Upstreams":[{"LocalBindPort":5000}]}}""", "DestinationName")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Kind":"connect-proxy","Proxy":{"DestinationServiceName":"d","Upstreams":[{"DestinationName":"x","LocalBindPort":"5000"}]}}""", "LocalBindPort")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Kind":"connect-proxy","Proxy":{"DestinationServiceName":"d","Upstreams":"x"}}""", "Upstreams")]
    [InlineData("/v1/catalog/register", """{"Node":"n","Address":"1.2.3.4","Service":{"Service":"s","Kind":"connect-proxy","Proxy":{"DestinationServiceName":"d","Upstreams":[{"DestinationName":"x","LocalBindPort":70000}]}}}""", "LocalBindPort")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Check":{"HTTP":"http://x","Interval":"soon"}}""", "Interval")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Check":{"HTTP":"http://x"}}""", "Interval")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Check":{"Args":["/bin/true"],"Interval":"10s"}}""", "enable_script_checks")]
    [InlineData("/v1/agent/service/register", """{"Name":"s","Check":{"TTL":"10s","Status":"fine"}}""", "Status")]
    [InlineData("/v1/agent/check/register", """{"TTL":"10s"}""", "Missing check name")]
    [InlineData("/v1/agent/check/register", """{"Name":"c","TTL":"10s","ServiceID":"ghost"}""", "ServiceID")]
    [InlineData("/v1/agent/check/register", """{"Name":"c"}""", "TTL")]
    public async Task Register_BadInput_Is400NamingTheProblem(string path, string body, string reason)
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.PutAsync(path, body);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains(reason, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UnknownService_Is404_OnReadDeregisterAndHealth()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync("/v1/agent/service/ghost")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await a.PutAsync("/v1/agent/service/deregister/ghost")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync("/v1/agent/health/service/id/ghost")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync("/v1/agent/health/service/name/ghost")).StatusCode);
    }

    [Fact]
    public async Task Events_ServiceFilter_MatchesLocalServices()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/agent/service/register", """{"Name":"web","Tags":["blue"]}""");
        await a.PutAsync("/v1/event/fire/deploy?service=web&tag=blue");
        await a.PutAsync("/v1/event/fire/deploy?service=web&tag=green");
        Assert.Equal(1, (await a.JsonAsync("/v1/event/list?name=deploy")).GetArrayLength());
    }
}
