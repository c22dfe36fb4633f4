using System.Net;
using System.Text;
using System.Text.Json;

namespace Mesh.Agent.Tests.Http;

public class KvApiTests
{
    [Fact]
    public async Task PutGetDelete_RoundTrip_WithConsulShapesAndHeaders()
    {
        await using var a = await InProcessAgent.StartAsync();
        using (var put = await a.PutAsync("/v1/kv/web/config?flags=42", "hello"))
            Assert.Equal("true", (await put.Content.ReadAsStringAsync()).Trim());

        using var get = await a.GetAsync("/v1/kv/web/config");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("true", get.Headers.GetValues("X-Consul-KnownLeader").Single());
        Assert.Equal("0", get.Headers.GetValues("X-Consul-LastContact").Single());
        var entry = JsonDocument.Parse(await get.Content.ReadAsStringAsync()).RootElement[0];
        Assert.Equal(["LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex"], entry.EnumerateObject().Select(p => p.Name));
        Assert.Equal("web/config", entry.GetProperty("Key").GetString());
        Assert.Equal(42UL, entry.GetProperty("Flags").GetUInt64());
        Assert.Equal("hello", Encoding.UTF8.GetString(entry.GetProperty("Value").GetBytesFromBase64()));
        Assert.Equal(entry.GetProperty("ModifyIndex").GetUInt64(), InProcessAgent.Index(get));

        using (var del = await a.SendAsync(HttpMethod.Delete, "/v1/kv/web/config")) Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        using var gone = await a.GetAsync("/v1/kv/web/config");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("", await gone.Content.ReadAsStringAsync());
        Assert.True(InProcessAgent.Index(gone) > entry.GetProperty("ModifyIndex").GetUInt64());
    }

    [Fact]
    public async Task SingleKeyIndex_IsTheKeysModifyIndex_NotMovedByOtherKeys()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/quiet", "1");
        var modify = (await a.JsonAsync("/v1/kv/quiet"))[0].GetProperty("ModifyIndex").GetUInt64();
        await a.PutAsync("/v1/kv/busy", "1");
        await a.PutAsync("/v1/kv/busy", "2");
        using var get = await a.GetAsync("/v1/kv/quiet");
        Assert.Equal(modify, InProcessAgent.Index(get));
        // A watcher holding the key's index is not sent back by writes elsewhere.
        using var blocked = await a.GetAsync($"/v1/kv/quiet?index={modify}&wait=300ms");
        Assert.Equal(modify, InProcessAgent.Index(blocked));
    }

    [Fact]
    public async Task Release_WithASessionThatEnded_IsFalse_Not400()
    {
        await using var a = await InProcessAgent.StartAsync();
        var id = await a.CreateSessionAsync("""{"LockDelay":"0s"}""");
        await a.PutAsync($"/v1/kv/rel?acquire={id}", "v");
        await a.PutAsync($"/v1/session/destroy/{id}");
        using var resp = await a.PutAsync($"/v1/kv/rel?release={id}", "v");
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("false", await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Keys_LiteralPercentInKey_IsKept_AndLegacySeperatorSpellingWorks()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/a%252Fb", "1");
        await a.PutAsync("/v1/kv/dir/sub/x", "1");
        var keys = await a.JsonAsync("/v1/kv/?keys&seperator=/");
        Assert.Equal(["a%2Fb", "dir/"], keys.EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Raw_ReturnsTheBytesAsPlainText()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/raw", "{\"not\":\"json-wrapped\"}");
        using var get = await a.GetAsync("/v1/kv/raw?raw");
        Assert.Equal("text/plain", get.Content.Headers.ContentType!.MediaType);
        Assert.Equal("nosniff", get.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("{\"not\":\"json-wrapped\"}", await get.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Keys_WithSeparator_ListsOneLevel_AndEmptyRootIsAnEmptyArray()
    {
        await using var a = await InProcessAgent.StartAsync();
        var root = await a.JsonAsync("/v1/kv/?keys");
        Assert.Equal(0, root.GetArrayLength());
        foreach (var k in new[] { "web/bar", "web/subdir/a", "web/subdir/b" }) await a.PutAsync("/v1/kv/" + k, "x");
        var keys = await a.JsonAsync("/v1/kv/web/?keys&separator=/");
        Assert.Equal(["web/bar", "web/subdir/"], keys.EnumerateArray().Select(e => e.GetString()));
        using var none = await a.GetAsync("/v1/kv/nothing/?keys");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
    }

    [Fact]
    public async Task Recurse_ReturnsTheSubtree_Or404()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/app/a", "1");
        await a.PutAsync("/v1/kv/app/b/c", "2");
        await a.PutAsync("/v1/kv/apple", "3");
        var list = await a.JsonAsync("/v1/kv/app/?recurse");
        Assert.Equal(["app/a", "app/b/c"], list.EnumerateArray().Select(e => e.GetProperty("Key").GetString()));
        using var miss = await a.GetAsync("/v1/kv/zzz/?recurse");
        Assert.Equal(HttpStatusCode.NotFound, miss.StatusCode);
    }

    [Fact]
    public async Task Cas_OverHttp_FollowsConsul()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal("true", await (await a.PutAsync("/v1/kv/c?cas=0", "1")).Content.ReadAsStringAsync());
        Assert.Equal("false", await (await a.PutAsync("/v1/kv/c?cas=0", "2")).Content.ReadAsStringAsync());
        var idx = (await a.JsonAsync("/v1/kv/c"))[0].GetProperty("ModifyIndex").GetUInt64();
        Assert.Equal("false", await (await a.SendAsync(HttpMethod.Delete, $"/v1/kv/c?cas={idx + 1}")).Content.ReadAsStringAsync());
        Assert.Equal("true", await (await a.PutAsync($"/v1/kv/c?cas={idx}", "3")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Put_ValueOfExactlyTheLimit_IsAccepted_OneByteMoreIs413()
    {
        await using var a = await InProcessAgent.StartAsync();
        using (var ok = await a.PutAsync("/v1/kv/big", new string('x', 512 * 1024))) Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        using var tooBig = await a.PutAsync("/v1/kv/big", new string('y', 512 * 1024 + 1));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.Contains("too large", await tooBig.Content.ReadAsStringAsync());
        Assert.Equal('x', (char)(await (await a.GetAsync("/v1/kv/big?raw")).Content.ReadAsByteArrayAsync())[0]);
    }

    [Fact]
    public async Task Put_ChunkedBody_IsStored_AndOverTheLimitIs413()
    {
        await using var a = await InProcessAgent.StartAsync();
        static HttpContent Chunked(int size) => new StreamContent(new UnsizedStream(new byte[size]));
        using (var ok = await a.Client.PutAsync("/v1/kv/chunked", Chunked(100_000)))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(100_000, (await (await a.GetAsync("/v1/kv/chunked?raw")).Content.ReadAsByteArrayAsync()).Length);
        using var tooBig = await a.Client.PutAsync("/v1/kv/chunked", Chunked(512 * 1024 + 1));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
    }

    [Fact]
    public async Task Put_BodyCutShort_StoresNothing_AndNeverAnswers5xx()
    {
        // The client promises 100 bytes, sends 9 and closes its side: the server either answers 400 or drops the
        // connection, but it must not store a partial value, answer 5xx, or stop serving.
        await using var a = await InProcessAgent.StartAsync();
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(a.Host.HttpAddresses[0].Host, a.Host.HttpAddresses[0].Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("PUT /v1/kv/short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-this"));
            tcp.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            string? status = null;
            try
            {
                status = await new StreamReader(stream).ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (IOException)
            {
                // Dropped: acceptable.
            }
            if (status is { Length: > 0 }) Assert.StartsWith("HTTP/1.1 4", status);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync("/v1/kv/short")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await a.PutAsync("/v1/kv/short", "whole")).StatusCode);
    }

    /// <summary>A stream that hides its length, so HttpClient sends it chunked.</summary>
    private sealed class UnsizedStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    [Theory]
    [InlineData("PUT", "/v1/kv/x?cas=1&acquire=abc", "Conflicting flags")]
    [InlineData("PUT", "/v1/kv/x?flags=-1", "Invalid flags")]
    [InlineData("PUT", "/v1/kv/x?flags=1e3", "Invalid flags")]
    [InlineData("PUT", "/v1/kv/x?cas=abc", "Invalid cas")]
    [InlineData("PUT", "/v1/kv/", "Missing key name")]
    [InlineData("DELETE", "/v1/kv/x?recurse&cas=1", "Conflicting flags")]
    [InlineData("DELETE", "/v1/kv/", "Missing key name")]
    [InlineData("GET", "/v1/kv/x?index=abc", "Invalid index")]
    [InlineData("GET", "/v1/kv/x?index=1&wait=10x", "Invalid wait")]
    [InlineData("GET", "/v1/kv/x?stale&consistent", "conflicting")]
    [InlineData("GET", "/v1/kv/x?index=1&wait=99999999999999999999999h", "Invalid wait")]
    [InlineData("GET", "/v1/kv/x?max_stale=99999999999999999999999h", "Invalid max_stale")]
    [InlineData("PUT", "/v1/kv/x?acquire=not-a-session", "Invalid session")]
    public async Task BadInput_Is400_WithOneLineReason(string method, string path, string reason)
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.SendAsync(new HttpMethod(method), path, "v");
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        var body = await resp.Content.ReadAsStringAsync();
        Assert.Contains(reason, body);
        Assert.Single(body.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task WrongMethod_Is405_WithAllow()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.SendAsync(HttpMethod.Post, "/v1/kv/x");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, resp.StatusCode);
        Assert.Contains("PUT", resp.Content.Headers.Allow);
    }

    [Fact]
    public async Task BlockingGet_ReturnsOnChange_WithTheNewIndex()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/watched", "1");
        using var first = await a.GetAsync("/v1/kv/watched");
        var index = InProcessAgent.Index(first);
        var blocked = a.GetAsync($"/v1/kv/watched?index={index}&wait=60s");
        await a.PutAsync("/v1/kv/unrelated", "x");
        await Task.Delay(100);
        Assert.False(blocked.IsCompleted, "a write to another key must not wake the query");
        await a.PutAsync("/v1/kv/watched", "2");
        using var resp = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(InProcessAgent.Index(resp) > index);
        var value = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement[0].GetProperty("Value").GetBytesFromBase64();
        Assert.Equal("2", Encoding.UTF8.GetString(value));
    }

    [Fact]
    public async Task BlockingGet_WaitRunsOut_ReturnsTheSameIndexWithinWaitPlusJitter()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/quiet", "1");
        var index = InProcessAgent.Index(await a.GetAsync("/v1/kv/quiet"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var resp = await a.GetAsync($"/v1/kv/quiet?index={index}&wait=300ms");
        sw.Stop();
        Assert.Equal(index, InProcessAgent.Index(resp));
        Assert.InRange(sw.Elapsed, TimeSpan.FromMilliseconds(290), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task BlockingRecurse_WakesOnDeleteUnderThePrefix()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/dir/a", "1");
        await a.PutAsync("/v1/kv/dir/b", "2");
        var index = InProcessAgent.Index(await a.GetAsync("/v1/kv/dir/?recurse"));
        var blocked = a.GetAsync($"/v1/kv/dir/?recurse&index={index}&wait=60s");
        await a.SendAsync(HttpMethod.Delete, "/v1/kv/dir/b");
        using var resp = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(InProcessAgent.Index(resp) > index);
        Assert.Equal(1, JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task NegativeWait_IsAccepted_AsTheDefault()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/w", "1");
        using var resp = await a.GetAsync("/v1/kv/w?wait=-1s");
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
    }

    [Fact]
    public async Task Pretty_IndentsWithFourSpaces()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/p", "1");
        var compact = await (await a.GetAsync("/v1/kv/p")).Content.ReadAsStringAsync();
        var pretty = await (await a.GetAsync("/v1/kv/p?pretty")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("\n", compact);
        Assert.Contains("\n        \"LockIndex\"", pretty);
    }

    [Fact]
    public async Task PercentEncodedSlash_IsPartOfTheKey()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/a%2Fb", "1");
        var keys = await a.JsonAsync("/v1/kv/?keys");
        Assert.Equal(["a/b"], keys.EnumerateArray().Select(e => e.GetString()));
    }
}

public class TombstoneReaperTests
{
    [Fact]
    public async Task DeletedKeys_TombstonesAreReapedAfterTheTtl_AndIndexesStayMonotonic()
    {
        await using var a = await InProcessAgent.StartAsync(c => c with
        {
            TombstoneTtl = TimeSpan.FromMilliseconds(300),
            TombstoneTtlGranularity = TimeSpan.FromMilliseconds(100),
        });
        await a.PutAsync("/v1/kv/t/a", "1");
        await a.SendAsync(HttpMethod.Delete, "/v1/kv/t/a");
        using var afterDelete = await a.GetAsync("/v1/kv/t/?recurse");
        var indexAfterDelete = InProcessAgent.Index(afterDelete);
        Assert.Equal(1, a.Host.Store.View().RowCounts()["tombstones"]);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (a.Host.Store.View().RowCounts()["tombstones"] > 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "tombstone never reaped");
            await Task.Delay(50);
        }
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(150), "reaped before its TTL");
        using var afterReap = await a.GetAsync("/v1/kv/t/?recurse");
        Assert.True(InProcessAgent.Index(afterReap) >= indexAfterDelete, "the prefix index went backwards after reaping");
    }
}
