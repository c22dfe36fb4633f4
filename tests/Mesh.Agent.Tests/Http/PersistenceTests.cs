using System.Net;

namespace Mesh.Agent.Tests.Http;

public sealed class PersistenceTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("mesh-data-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private Task<InProcessAgent> Start() => InProcessAgent.StartAsync(c => c with { DataDir = _dataDir });

    private static async Task<string[]> ServiceIds(InProcessAgent a) =>
        (await a.JsonAsync("/v1/agent/services")).EnumerateObject().Select(p => p.Name).Order().ToArray();

    [Fact]
    public async Task HttpRegistrations_SurviveARestart_UntilDeregistered()
    {
        await using (var a = await Start())
        {
            await a.PutAsync("/v1/agent/service/register", """{"Name":"web","ID":"web-1","Check":{"TTL":"30s"},"Connect":{"SidecarService":{}}}""");
            await a.PutAsync("/v1/agent/service/register", """{"Name":"db"}""");
            await a.PutAsync("/v1/agent/check/register", """{"Name":"disk","TTL":"1m"}""");
        }
        await using (var b = await Start())
        {
            Assert.Equal(["db", "web-1", "web-1-sidecar-proxy"], await ServiceIds(b));
            Assert.True((await b.JsonAsync("/v1/agent/checks")).TryGetProperty("disk", out _));
            Assert.Equal(HttpStatusCode.OK, (await b.PutAsync("/v1/agent/service/deregister/db")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await b.PutAsync("/v1/agent/check/deregister/disk")).StatusCode);
        }
        await using (var c = await Start())
        {
            Assert.Equal(["web-1", "web-1-sidecar-proxy"], await ServiceIds(c));
            Assert.False((await c.JsonAsync("/v1/agent/checks")).TryGetProperty("disk", out _));
        }
    }

    [Fact]
    public async Task ACorruptFile_IsSkipped_AndTheAgentStarts()
    {
        await using (var a = await Start()) await a.PutAsync("/v1/agent/service/register", """{"Name":"web"}""");
        File.WriteAllText(Path.Combine(_dataDir, "services", "garbage.json"), "{ not json");
        await using var b = await Start();
        Assert.Equal(["web"], await ServiceIds(b));
        Assert.Contains("skipping persisted registration", b.Log);
    }

    [Fact]
    public async Task WithoutADataDir_NothingIsKept()
    {
        await using (var a = await InProcessAgent.StartAsync()) await a.PutAsync("/v1/agent/service/register", """{"Name":"web"}""");
        await using var b = await InProcessAgent.StartAsync();
        Assert.Empty(await ServiceIds(b));
    }
}
