using System.Net;
using System.Text.Json;

namespace Mesh.Agent.Tests.Http;

public class TxnApiTests
{
    private static string Op(string verb, string key, string? value64 = null, ulong index = 0)
    {
        var value = value64 is null ? "" : $",\"Value\":\"{value64}\"";
        return "{\"KV\":{\"Verb\":\"" + verb + "\",\"Key\":\"" + key + "\"" + value + ",\"Index\":" + index + "}}";
    }

    [Fact]
    public async Task Txn_Success_Returns200WithResults()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.PutAsync("/v1/txn", $"[{Op("set", "a", "MQ==")},{Op("get", "a")}]");
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(JsonValueKind.Null, doc.GetProperty("Errors").ValueKind);
        Assert.Equal("MQ==", doc.GetProperty("Results")[1].GetProperty("KV").GetProperty("Value").GetString());
        Assert.Equal(JsonValueKind.Null, doc.GetProperty("Results")[0].GetProperty("KV").GetProperty("Value").ValueKind);
    }

    [Fact]
    public async Task Txn_FailedCheck_Is409_AndNothingApplies()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.PutAsync("/v1/txn", $"[{Op("set", "b", "MQ==")},{Op("check-not-exists", "b")}]");
        Assert.Equal(HttpStatusCode.Conflict, resp.StatusCode);
        var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(1, doc.GetProperty("Errors")[0].GetProperty("OpIndex").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync("/v1/kv/b")).StatusCode);
    }

    [Fact]
    public async Task Txn_ReadOnly_IsAnsweredWithIndexHeader()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/r/x", "1");
        using var resp = await a.PutAsync("/v1/txn", $"[{Op("get-tree", "r/")}]");
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.True(InProcessAgent.Index(resp) > 0);
    }

    [Fact]
    public async Task Txn_LockInsideLockDelay_Is409_AndNothingApplies()
    {
        await using var a = await InProcessAgent.StartAsync();
        var first = await a.CreateSessionAsync("""{"LockDelay":"30s"}""");
        await a.PutAsync($"/v1/kv/tl?acquire={first}", "v");
        await a.PutAsync($"/v1/session/destroy/{first}");
        var second = await a.CreateSessionAsync();
        var body = "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"other\",\"Value\":\"MQ==\"}},{\"KV\":{\"Verb\":\"lock\",\"Key\":\"tl\",\"Session\":\"" + second + "\"}}]";
        using var resp = await a.PutAsync("/v1/txn", body);
        Assert.Equal(HttpStatusCode.Conflict, resp.StatusCode);
        Assert.Contains("due to lock delay", await resp.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync("/v1/kv/other")).StatusCode);
    }

    [Fact]
    public async Task Txn_TooManyOps_Is413()
    {
        await using var a = await InProcessAgent.StartAsync();
        var ops = string.Join(",", Enumerable.Range(0, 65).Select(i => Op("set", "k" + i, "MQ==")));
        using var resp = await a.PutAsync("/v1/txn", $"[{ops}]");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, resp.StatusCode);
        Assert.Contains("65 > 64", await resp.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("{}", "JSON array")]
    [InlineData("[{\"Node\":{}}]", "not supported")]
    [InlineData("[{\"KV\":{\"Verb\":\"explode\",\"Key\":\"a\"}}]", "unknown KV verb")]
    [InlineData("[{\"KV\":{\"Verb\":\"set\",\"Key\":\"a\",\"Value\":\"%%%\"}}]", "base64")]
    [InlineData("[{\"KV\":{\"Verb\":\"lock\",\"Key\":\"a\"}}]", "Session")]
    [InlineData("[{\"KV\":{\"Verb\":\"set\"}}]", "missing Key")]
    [InlineData("not json", "decode failed")]
    public async Task Txn_BadInput_Is400(string body, string reason)
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.PutAsync("/v1/txn", body);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains(reason, await resp.Content.ReadAsStringAsync());
    }
}
