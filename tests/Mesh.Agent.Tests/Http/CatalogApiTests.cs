using System.Net;
using System.Text.Json;

namespace Mesh.Agent.Tests.Http;

public class CatalogApiTests
{
    private static string Registration(string node, string service, string id, string status, string tags = "\"v1\"", string meta = "{}") => $$$"""
        {"Node":"{{{node}}}","Address":"10.0.0.9","NodeMeta":{{{meta}}},
         "Service":{"Service":"{{{service}}}","ID":"{{{id}}}","Port":8080,"Tags":[{{{tags}}}]},
         "Check":{"Name":"alive","CheckID":"alive-{{{id}}}","ServiceID":"{{{id}}}","Status":"{{{status}}}"}}
        """;

    [Fact]
    public async Task RegisterThenRead_ConsulShapes()
    {
        await using var a = await InProcessAgent.StartAsync();
        using (var r = await a.PutAsync("/v1/catalog/register", Registration("n1", "web", "web-1", "passing")))
            Assert.Equal("true", await r.Content.ReadAsStringAsync());
        var entry = (await a.JsonAsync("/v1/catalog/service/web"))[0];
        Assert.Equal("n1", entry.GetProperty("Node").GetString());
        Assert.Equal("web-1", entry.GetProperty("ServiceID").GetString());
        Assert.Equal(8080, entry.GetProperty("ServicePort").GetInt32());
        Assert.Equal(1, entry.GetProperty("ServiceWeights").GetProperty("Passing").GetInt32());
        var health = (await a.JsonAsync("/v1/health/service/web"))[0];
        Assert.Equal(["Node", "Service", "Checks"], health.EnumerateObject().Select(p => p.Name));
        Assert.Equal("web", health.GetProperty("Checks")[0].GetProperty("ServiceName").GetString());
        var services = await a.JsonAsync("/v1/catalog/services");
        Assert.Equal("v1", services.GetProperty("web")[0].GetString());
        var node = await a.JsonAsync("/v1/catalog/node/n1");
        Assert.True(node.GetProperty("Services").TryGetProperty("web-1", out _));
    }

    [Fact]
    public async Task HealthService_Passing_Tag_NodeMeta_AndFilter_Select()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/catalog/register", Registration("n1", "web", "w1", "passing", "\"v1\"", """{"zone":"a"}"""));
        await a.PutAsync("/v1/catalog/register", Registration("n2", "web", "w2", "critical", "\"v2\"", """{"zone":"b"}"""));
        async Task<string[]> Nodes(string query) =>
            (await a.JsonAsync("/v1/health/service/web" + query)).EnumerateArray().Select(e => e.GetProperty("Node").GetProperty("Node").GetString()!).Order().ToArray();
        Assert.Equal(["n1", "n2"], await Nodes(""));
        Assert.Equal(["n1"], await Nodes("?passing"));
        Assert.Equal(["n2"], await Nodes("?tag=v2"));
        Assert.Equal(["n2"], await Nodes("?node-meta=zone:b"));
        Assert.Equal(["n2"], await Nodes("?filter=" + Uri.EscapeDataString("Service.Tags contains \"v2\"")));
        Assert.Equal(["n1"], await Nodes("?filter=" + Uri.EscapeDataString("Node.Meta.zone == a")));
    }

    [Fact]
    public async Task LargeAnswers_AreGzippedForClientsThatAskForIt_AndStayFreshAcrossChanges()
    {
        await using var a = await InProcessAgent.StartAsync();
        for (var i = 0; i < 20; i++) await a.PutAsync("/v1/catalog/register", Registration("n" + i, "big", "b" + i, "passing"));
        async Task<(string Encoding, int Count)> Get(bool gzip)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, "/v1/health/service/big?passing");
            if (gzip) req.Headers.AcceptEncoding.ParseAdd("gzip");
            using var resp = await a.Client.SendAsync(req);
            var bytes = await resp.Content.ReadAsByteArrayAsync();
            var encoding = string.Join(",", resp.Content.Headers.ContentEncoding);
            if (encoding == "gzip")
            {
                using var unzip = new System.IO.Compression.GZipStream(new MemoryStream(bytes), System.IO.Compression.CompressionMode.Decompress);
                using var plain = new MemoryStream();
                unzip.CopyTo(plain);
                bytes = plain.ToArray();
            }
            return (encoding, JsonDocument.Parse(bytes).RootElement.GetArrayLength());
        }
        Assert.Equal(("gzip", 20), await Get(gzip: true));
        Assert.Equal(("", 20), await Get(gzip: false));
        // The cached answer follows the service's index: a check turning critical is seen at once, in both forms.
        await a.PutAsync("/v1/catalog/register", Registration("n3", "big", "b3", "critical"));
        Assert.Equal(("gzip", 19), await Get(gzip: true));
        Assert.Equal(("", 19), await Get(gzip: false));
        // So is a node-level check on one instance's node.
        await a.PutAsync("/v1/catalog/register", """{"Node":"n4","Address":"10.0.0.9","SkipNodeUpdate":true,"Check":{"CheckID":"disk","Name":"disk","Status":"critical"}}""");
        Assert.Equal(("gzip", 18), await Get(gzip: true));
    }

    [Fact]
    public async Task CatalogServices_NodeMeta_CountsOnlyInstancesOnMatchingNodes()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/catalog/register", Registration("n1", "web", "w1", "passing", "\"v1\"", """{"zone":"a"}"""));
        await a.PutAsync("/v1/catalog/register", Registration("n2", "db", "d1", "passing", "\"v2\"", """{"zone":"b"}"""));
        var services = await a.JsonAsync("/v1/catalog/services?node-meta=zone:b");
        Assert.Equal(["db"], services.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task BlockingHealthService_WakesWhenACheckChanges()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/catalog/register", Registration("n1", "api", "a1", "critical"));
        using var first = await a.GetAsync("/v1/health/service/api?passing");
        Assert.Equal(0, JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
        var blocked = a.GetAsync($"/v1/health/service/api?passing&index={InProcessAgent.Index(first)}&wait=30s");
        await a.PutAsync("/v1/catalog/register", Registration("other", "db", "d1", "critical"));
        Assert.NotSame(blocked, await Task.WhenAny(blocked, Task.Delay(150)));
        await a.PutAsync("/v1/catalog/register", Registration("n1", "api", "a1", "passing"));
        using var resp = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
        Assert.True(InProcessAgent.Index(resp) > InProcessAgent.Index(first));
    }

    [Fact]
    public async Task Deregister_Service_Then_Node()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/catalog/register", Registration("n1", "web", "w1", "passing"));
        await a.PutAsync("/v1/catalog/deregister", """{"Node":"n1","ServiceID":"w1"}""");
        Assert.Equal(0, (await a.JsonAsync("/v1/catalog/service/web")).GetArrayLength());
        Assert.Equal(0, (await a.JsonAsync("/v1/health/node/n1")).GetArrayLength());
        await a.PutAsync("/v1/catalog/deregister", """{"Node":"n1"}""");
        Assert.Equal(JsonValueKind.Null, (await a.JsonAsync("/v1/catalog/node/n1")).ValueKind);
        Assert.Equal(JsonValueKind.Null, (await a.JsonAsync("/v1/catalog/node-services/n1")).GetProperty("Node").ValueKind);
    }

    [Fact]
    public async Task HealthState_And_Checks()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/catalog/register", Registration("n1", "web", "w1", "warning"));
        var warning = await a.JsonAsync("/v1/health/state/warning");
        Assert.Equal("alive-w1", warning.EnumerateArray().Single().GetProperty("CheckID").GetString());
        var checks = await a.JsonAsync("/v1/health/checks/web");
        Assert.Equal("warning", checks[0].GetProperty("Status").GetString());
        Assert.Contains((await a.JsonAsync("/v1/health/state/any")).EnumerateArray(), c => c.GetProperty("CheckID").GetString() == "serfHealth");
    }

    [Fact]
    public async Task ConnectEndpoints_ListProxiesForTheService()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/catalog/register", Registration("n1", "web", "w1", "passing"));
        await a.PutAsync("/v1/catalog/register", """
            {"Node":"n1","Address":"10.0.0.9","Service":{"Service":"web-sidecar-proxy","ID":"w1-proxy","Kind":"connect-proxy","Port":21000,
             "Proxy":{"DestinationServiceName":"web","DestinationServiceID":"w1","LocalServicePort":8080}}}
            """);
        var connect = await a.JsonAsync("/v1/catalog/connect/web");
        Assert.Equal("w1-proxy", connect.EnumerateArray().Single().GetProperty("ServiceID").GetString());
        Assert.Equal("web", connect[0].GetProperty("ServiceProxy").GetProperty("DestinationServiceName").GetString());
        var health = await a.JsonAsync("/v1/health/connect/web");
        Assert.Equal("connect-proxy", health.EnumerateArray().Single().GetProperty("Service").GetProperty("Kind").GetString());
    }

    [Theory]
    [InlineData("""{"Address":"1.2.3.4"}""", "Must provide node")]
    [InlineData("""{"Node":"n"}""", "Must provide address")]
    [InlineData("""{"Node":"n","Address":"a","Service":{"Port":1}}""", "service name")]
    [InlineData("""{"Node":"n","Address":"a","Service":{"Service":"s","Port":70000}}""", "Service.Port")]
    [InlineData("""{"Node":"n","Address":"a","Service":{"Service":"s","Kind":"weird"}}""", "Kind")]
    [InlineData("""{"Node":"n","Address":"a","Service":{"Service":"s","Weights":{"Passing":0}}}""", "Weights.Passing")]
    [InlineData("""{"Node":"n","Address":"a","Check":{"Name":"c","Status":"ok"}}""", "Check.Status")]
    [InlineData("""{"Node":"n","Address":"a","Checks":[{"Name":"c","Node":"m"}]}""", "Checks[0].Node")]
    [InlineData("""{"Node":"n","Address":"a","Check":{"Name":"c","ServiceID":"nope"}}""", "missing service registration")]
    [InlineData("""{"Node":"n","Address":"a","Datacenter":"dc9"}""", "No path to datacenter")]
    [InlineData("""{"Node":"n","Address":"a","NodeMeta":{"k":1}}""", "NodeMeta.k")]
    [InlineData("""{"Node":"n","Address":"a","ID":"not-a-uuid"}""", "node ID")]
    public async Task Register_BadInput_Is400NamingTheField(string body, string reason)
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.PutAsync("/v1/catalog/register", body);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains(reason, await resp.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/v1/health/state/sick", "Invalid check state")]
    [InlineData("/v1/health/service/web?filter=Service.Port%20%3D%3D", "Failed to create boolean expression evaluator")]
    [InlineData("/v1/catalog/service/", "Missing service name")]
    public async Task Reads_BadInput_Are400(string path, string reason)
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains(reason, await resp.Content.ReadAsStringAsync());
    }
}
