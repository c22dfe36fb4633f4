using System.Net;
using System.Text.Json;

namespace Mesh.Agent.Tests.Http;

public class SessionApiTests
{
    [Fact]
    public async Task Create_Defaults_AreConsuls()
    {
        await using var a = await InProcessAgent.StartAsync();
        var id = await a.CreateSessionAsync("");
        var s = (await a.JsonAsync($"/v1/session/info/{id}"))[0];
        Assert.Equal(15_000_000_000, s.GetProperty("LockDelay").GetInt64());
        Assert.Equal("release", s.GetProperty("Behavior").GetString());
        Assert.Equal(a.Host.Identity.NodeName, s.GetProperty("Node").GetString());
        Assert.Equal(["serfHealth"], s.GetProperty("NodeChecks").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Ttl_Expiry_ReleasesTheLock()
    {
        await using var a = await InProcessAgent.StartAsync();
        var id = await a.CreateSessionAsync("""{"TTL":"150ms","LockDelay":"0s"}""");
        Assert.Equal("true", await (await a.PutAsync($"/v1/kv/l?acquire={id}", "v")).Content.ReadAsStringAsync());
        var index = InProcessAgent.Index(await a.GetAsync("/v1/kv/l"));
        // The lock holder changes when the session expires (after twice its TTL): a blocking query sees it.
        using var resp = await a.GetAsync($"/v1/kv/l?index={index}&wait=10s");
        var entry = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement[0];
        Assert.False(entry.TryGetProperty("Session", out _));
        Assert.Equal(0, (await a.JsonAsync($"/v1/session/info/{id}")).GetArrayLength());
    }

    [Fact]
    public async Task Renew_KeepsTheSessionAlivePastItsTtl()
    {
        // TTL 1s expires after 2s without a renewal; renewing every 300 ms for 3 s leaves wide slack on a busy machine.
        await using var a = await InProcessAgent.StartAsync();
        var id = await a.CreateSessionAsync("""{"TTL":"1s"}""");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            await Task.Delay(300);
            using var renew = await a.PutAsync($"/v1/session/renew/{id}");
            Assert.Equal(HttpStatusCode.OK, renew.StatusCode);
        }
        Assert.Equal(1, (await a.JsonAsync($"/v1/session/info/{id}")).GetArrayLength());
    }

    [Fact]
    public async Task ConcurrentRenewals_LeaveOneTimer_AndTheSessionAlive()
    {
        await using var a = await InProcessAgent.StartAsync();
        var id = await a.CreateSessionAsync("""{"TTL":"1s"}""");
        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => a.PutAsync($"/v1/session/renew/{id}")));
        var metrics = await a.JsonAsync("/v1/agent/metrics");
        var timers = metrics.GetProperty("Gauges").EnumerateArray().Single(g => g.GetProperty("Name").GetString() == "mesh.session_ttl.active");
        Assert.Equal(1, timers.GetProperty("Value").GetDouble());
        Assert.Equal(1, (await a.JsonAsync($"/v1/session/info/{id}")).GetArrayLength());
    }

    [Fact]
    public async Task Renew_Unknown_Is404_InfoUnknown_IsEmptyArray()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var renew = await a.PutAsync("/v1/session/renew/00000000-0000-0000-0000-000000000000");
        Assert.Equal(HttpStatusCode.NotFound, renew.StatusCode);
        Assert.Equal(0, (await a.JsonAsync("/v1/session/info/00000000-0000-0000-0000-000000000000")).GetArrayLength());
    }

    [Fact]
    public async Task LockDelay_BlocksReacquisition_UntilItPasses()
    {
        await using var a = await InProcessAgent.StartAsync();
        var first = await a.CreateSessionAsync("""{"LockDelay":"3s"}""");
        await a.PutAsync($"/v1/kv/ld?acquire={first}", "v");
        var second = await a.CreateSessionAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal("true", await (await a.PutAsync($"/v1/session/destroy/{first}")).Content.ReadAsStringAsync());
        Assert.Equal("false", await (await a.PutAsync($"/v1/kv/ld?acquire={second}", "v")).Content.ReadAsStringAsync());
        // Poll until the lock can be taken: never before the delay has passed, and soon after it.
        while (await (await a.PutAsync($"/v1/kv/ld?acquire={second}", "v")).Content.ReadAsStringAsync() != "true")
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "lock-delay never ended");
            await Task.Delay(100);
        }
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2.9), $"acquired after {clock.Elapsed}, before the 3 s lock-delay");
    }

    [Fact]
    public async Task DeleteBehavior_DeletesTheKeyOnDestroy()
    {
        await using var a = await InProcessAgent.StartAsync();
        var id = await a.CreateSessionAsync("""{"Behavior":"delete"}""");
        await a.PutAsync($"/v1/kv/eph?acquire={id}", "v");
        await a.PutAsync($"/v1/session/destroy/{id}");
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync("/v1/kv/eph")).StatusCode);
    }

    [Theory]
    [InlineData("""{"TTL":"5s"}""", "Invalid Session TTL")]
    [InlineData("""{"TTL":"forever"}""", "Invalid Session TTL")]
    [InlineData("""{"Behavior":"explode"}""", "Invalid Behavior")]
    [InlineData("""{"LockDelay":"-1s"}""", "LockDelay")]
    [InlineData("""{"Node":"ghost"}""", "missing node registration")]
    [InlineData("""{"NodeChecks":["nope"]}""", "missing check")]
    [InlineData("""{"Name":5}""", "Name must be a string")]
    [InlineData("[1,2]", "JSON object")]
    [InlineData("{bad json", "Request decode failed")]
    public async Task Create_BadInput_Is400(string body, string reason)
    {
        await using var a = await InProcessAgent.StartAsync(c => c with { SessionTtlMin = TimeSpan.FromSeconds(10) });
        using var resp = await a.PutAsync("/v1/session/create", body);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains(reason, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task List_Blocks_UntilASessionIsCreated()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var first = await a.GetAsync("/v1/session/list");
        var blocked = a.GetAsync($"/v1/session/list?index={InProcessAgent.Index(first)}&wait=30s");
        var id = await a.CreateSessionAsync();
        using var resp = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        var list = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(id, list[0].GetProperty("ID").GetString());
        var byNode = await a.JsonAsync($"/v1/session/node/{a.Host.Identity.NodeName}");
        Assert.Equal(1, byNode.GetArrayLength());
    }
}
