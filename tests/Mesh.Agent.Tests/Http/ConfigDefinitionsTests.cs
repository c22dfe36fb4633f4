using System.Net;
using Mesh.Agent.Config;
using Mesh.Agent.Hosting;

namespace Mesh.Agent.Tests.Http;

public sealed class ConfigDefinitionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Write(string name, string json) => File.WriteAllText(Path.Combine(_dir, name), json);

    private Task<InProcessAgent> StartWithDir() => InProcessAgent.StartAsync(c => ConfigLoader.ApplyPaths(c, [_dir]));

    private static async Task<string[]> ServiceIds(InProcessAgent a) =>
        (await a.JsonAsync("/v1/agent/services")).EnumerateObject().Select(p => p.Name).Order().ToArray();

    [Fact]
    public async Task Definitions_AreRegisteredAtStart_AccumulatingAcrossFiles()
    {
        Write("10-web.json", """{ "service": { "name": "web", "id": "web-1", "port": 8080, "check": { "ttl": "30s" } } }""");
        Write("20-more.json", """{ "services": [ { "name": "db" }, { "name": "cache", "connect": { "sidecar_service": {} } } ], "check": { "name": "disk", "ttl": "1m" } }""");
        await using var a = await StartWithDir();
        Assert.Equal(["cache", "cache-sidecar-proxy", "db", "web-1"], await ServiceIds(a));
        Assert.True((await a.JsonAsync("/v1/agent/checks")).TryGetProperty("disk", out _));
    }

    [Fact]
    public async Task Definitions_SeveralSidecarsWithoutPorts_EachGetsItsOwnPort()
    {
        Write("10-counting.json", """{ "service": { "name": "counting", "id": "counting-1", "port": 9003, "connect": { "sidecar_service": {} } } }""");
        Write("20-dashboard.json", """{ "service": { "name": "dashboard", "port": 9002, "connect": { "sidecar_service": {} } } }""");
        Write("30-more.json", """{ "services": [ { "name": "a", "port": 1, "connect": { "sidecar_service": {} } }, { "name": "b", "port": 2, "connect": { "sidecar_service": {} } } ] }""");
        await using var a = await StartWithDir();

        var services = await a.JsonAsync("/v1/agent/services");
        var ports = new[] { "counting-1-sidecar-proxy", "dashboard-sidecar-proxy", "a-sidecar-proxy", "b-sidecar-proxy" }
            .Select(id => services.GetProperty(id).GetProperty("Port").GetInt32()).ToArray();
        Assert.All(ports, p => Assert.InRange(p, 21000, 21255));
        Assert.Equal(ports.Length, ports.Distinct().Count());

        // A reload keeps each sidecar on the port it already has.
        using (var reload = await a.PutAsync("/v1/agent/reload")) Assert.Equal(HttpStatusCode.OK, reload.StatusCode);
        var after = await a.JsonAsync("/v1/agent/services");
        Assert.Equal(ports, new[] { "counting-1-sidecar-proxy", "dashboard-sidecar-proxy", "a-sidecar-proxy", "b-sidecar-proxy" }
            .Select(id => after.GetProperty(id).GetProperty("Port").GetInt32()).ToArray());
    }

    [Fact]
    public async Task Reload_AppliesOnlyTheDifference_AndLeavesHttpRegisteredServices()
    {
        Write("10-web.json", """{ "service": { "name": "web", "id": "web-1", "tags": ["v1"] } }""");
        Write("20-db.json", """{ "service": { "name": "db" } }""");
        Write("25-stable.json", """{ "service": { "name": "stable", "check": { "id": "stable-ttl", "ttl": "5m" } } }""");
        await using var a = await StartWithDir();
        await a.PutAsync("/v1/agent/service/register", """{ "Name": "adhoc" }""");
        await a.PutAsync("/v1/agent/check/pass/stable-ttl");

        Write("10-web.json", """{ "service": { "name": "web", "id": "web-1", "tags": ["v2"] } }""");
        File.Delete(Path.Combine(_dir, "20-db.json"));
        Write("30-api.json", """{ "service": { "name": "api" } }""");
        using (var reload = await a.PutAsync("/v1/agent/reload")) Assert.Equal(HttpStatusCode.OK, reload.StatusCode);

        Assert.Equal(["adhoc", "api", "stable", "web-1"], await ServiceIds(a));
        Assert.Equal("v2", (await a.JsonAsync("/v1/agent/services")).GetProperty("web-1").GetProperty("Tags")[0].GetString());
        // An unchanged definition is left alone: re-registering it would have reset its TTL check to critical.
        Assert.Equal("passing", (await a.JsonAsync("/v1/agent/checks")).GetProperty("stable-ttl").GetProperty("Status").GetString());
    }

    [Fact]
    public async Task Reload_WithABrokenFile_ChangesNothing_AndSaysWhy()
    {
        Write("10-web.json", """{ "service": { "name": "web" } }""");
        await using var a = await StartWithDir();
        Write("10-web.json", """{ "service": { "port": 1 } }""");
        Write("20-new.json", """{ "service": { "name": "new" } }""");
        using var reload = await a.PutAsync("/v1/agent/reload");
        Assert.Equal(HttpStatusCode.InternalServerError, reload.StatusCode);
        Assert.Contains("10-web.json:1: service: Missing service name", await reload.Content.ReadAsStringAsync());
        Assert.Equal(["web"], await ServiceIds(a));
    }

    [Fact]
    public async Task Start_WithAnInvalidDefinition_IsRefused_NamingTheFile()
    {
        Write("10-bad.json", """{ "services": [ { "name": "ok" }, { "name": "bad", "check": { "http": "http://x" } } ] }""");
        var ex = await Assert.ThrowsAsync<ConfigException>(() => StartWithDir());
        Assert.Contains("10-bad.json:1: services[1]", ex.Message);
        Assert.Contains("Interval", ex.Message);
    }

    [Fact]
    public void Validate_InvalidDefinition_IsReportedAtTheLineItStartsOn()
    {
        Write("web.json", "{\n  // two services\n  \"services\": [\n    { \"name\": \"ok\" },\n    {\n      \"name\": \"bad\",\n      \"check\": { \"tcp\": \"x:1\" }\n    }\n  ],\n  \"check\": { \"name\": \"c\", \"ttl\": \"1m\" }\n}\n");
        var config = ConfigLoader.ApplyPaths(new AgentConfig(), [_dir]);
        Assert.Equal(["web.json:4: services[0]", "web.json:5: services[1]"], config.Services.Select(d => d.Source));
        Assert.Equal(["web.json:10: check"], config.Checks.Select(d => d.Source));
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.ValidateDefinitions(config));
        Assert.StartsWith("web.json:5: services[1]:", ex.Message);
    }

    [Fact]
    public void Loader_MalformedJson_ReportsLineAndColumn()
    {
        Write("10-x.json", "{\n  \"service\": {\n    \"name\": \"x\"\n    \"port\": 1 } }\n");
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.ApplyPaths(new AgentConfig(), [_dir]));
        Assert.Contains("line 4, column 5", ex.Message);
    }

    [Fact]
    public void Loader_UnknownKey_IsRefused()
    {
        Write("10-x.json", """{ "servce": { "name": "x" } }""");
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.ApplyPaths(new AgentConfig(), [_dir]));
        Assert.Contains("invalid config key servce", ex.Message);
    }
}
