using System.Net;
using System.Text.Json;

namespace Mesh.Agent.Tests.Http;

public class AgentApiTests
{
    [Fact]
    public async Task Status_LeaderAndPeers_NameThisServer()
    {
        await using var a = await InProcessAgent.StartAsync();
        var leader = (await a.JsonAsync("/v1/status/leader")).GetString();
        Assert.Equal("127.0.0.1:8300", leader);
        Assert.Equal([leader], (await a.JsonAsync("/v1/status/peers")).EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Self_And_Members_DescribeTheAgent()
    {
        await using var a = await InProcessAgent.StartAsync();
        var self = await a.JsonAsync("/v1/agent/self");
        Assert.Equal(a.Host.Identity.NodeName, self.GetProperty("Config").GetProperty("NodeName").GetString());
        Assert.Equal("Leader", self.GetProperty("Stats").GetProperty("raft").GetProperty("state").GetString());
        var members = await a.JsonAsync("/v1/agent/members");
        Assert.Equal(1, members[0].GetProperty("Status").GetInt32());
        Assert.Equal("consul", members[0].GetProperty("Tags").GetProperty("role").GetString());
    }

    [Fact]
    public async Task Metrics_JsonAndPrometheus()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/m", "1");
        var json = await a.JsonAsync("/v1/agent/metrics");
        Assert.Contains(json.GetProperty("Gauges").EnumerateArray(), g => g.GetProperty("Name").GetString() == "mesh.state.kv_entries" && g.GetProperty("Value").GetDouble() == 1);
        Assert.Contains(json.GetProperty("Samples").EnumerateArray(), s => s.GetProperty("Name").GetString() == "mesh.kvs.apply");
        using var prom = await a.GetAsync("/v1/agent/metrics?format=prometheus");
        var text = await prom.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE mesh_state_kv_entries gauge", text);
        Assert.Contains("mesh_kvs_apply_count 1", text);
    }

    [Fact]
    public async Task Events_FireThenList_AndListBlocksForTheNext()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var fire = await a.PutAsync("/v1/event/fire/deploy", "v1");
        var fired = JsonDocument.Parse(await fire.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("deploy", fired.GetProperty("Name").GetString());
        Assert.Equal(0, fired.GetProperty("LTime").GetInt32());
        using var list = await a.GetAsync("/v1/event/list?name=deploy");
        var events = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(fired.GetProperty("ID").GetString(), events[0].GetProperty("ID").GetString());
        var blocked = a.GetAsync($"/v1/event/list?index={InProcessAgent.Index(list)}&wait=30s");
        await a.PutAsync("/v1/event/fire/deploy", "v2");
        using var next = await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, JsonDocument.Parse(await next.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task EventList_Index_IsConsulsHashOfTheNewestEventId_OrOne()
    {
        Assert.Equal(3UL, Mesh.Agent.Events.EventBuffer.IndexOf("00000000-0000-0001-0000-000000000002"));
        await using var a = await InProcessAgent.StartAsync();
        using (var empty = await a.GetAsync("/v1/event/list")) Assert.Equal(1UL, InProcessAgent.Index(empty));
        using var fire = await a.PutAsync("/v1/event/fire/e");
        var id = JsonDocument.Parse(await fire.Content.ReadAsStringAsync()).RootElement.GetProperty("ID").GetString()!;
        using var list = await a.GetAsync("/v1/event/list");
        Assert.Equal(Mesh.Agent.Events.EventBuffer.IndexOf(id), InProcessAgent.Index(list));
        // Another name's list is empty: index 1, and a watcher holding 1 waits for an event of that name.
        using var other = await a.GetAsync("/v1/event/list?name=other");
        Assert.Equal(1UL, InProcessAgent.Index(other));
    }

    [Fact]
    public async Task Events_NodeFilterThatDoesNotMatch_IsNotDeliveredHere()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/event/fire/x?node=^elsewhere$");
        Assert.Equal(0, (await a.JsonAsync("/v1/event/list")).GetArrayLength());
    }

    [Theory]
    [InlineData("/v1/event/fire/x?tag=a", "without service")]
    [InlineData("/v1/event/fire/x?node=(", "Invalid node filter")]
    [InlineData("/v1/event/fire/x?node=(a)\\1", "Invalid node filter")]
    public async Task Events_BadFilters_Are400(string path, string reason)
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.PutAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains(reason, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Events_OversizedPayload_Is413()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var resp = await a.PutAsync("/v1/event/fire/x", new string('p', 600));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, resp.StatusCode);
    }

    [Fact]
    public async Task Monitor_StreamsLogLines()
    {
        await using var a = await InProcessAgent.StartAsync();
        using var req = new HttpRequestMessage(HttpMethod.Get, "/v1/agent/monitor?loglevel=debug");
        using var resp = await a.Client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        await a.PutAsync("/v1/event/fire/monitored");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        string? line;
        do line = await reader.ReadLineAsync(cts.Token);
        while (line is not null && !line.Contains("user event monitored fired"));
        Assert.NotNull(line);
        Assert.Contains("[DEBUG]", line);
    }

    [Fact]
    public async Task Monitor_UnknownLevel_Is400()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await a.GetAsync("/v1/agent/monitor?loglevel=loud")).StatusCode);
    }

    [Fact]
    public async Task Leave_StopsTheAgent_AndParkedBlockingQueriesAnswer()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/k", "1");
        var index = InProcessAgent.Index(await a.GetAsync("/v1/kv/k"));
        var parked = a.GetAsync($"/v1/kv/k?index={index}&wait=5m");
        // Leave only once the query is really parked on its watch.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (a.Host.Store.Watches.Slots == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the blocking query never parked");
            await Task.Yield();
        }
        using var leave = await a.PutAsync("/v1/agent/leave");
        Assert.Equal(HttpStatusCode.OK, leave.StatusCode);
        await a.Host.Stopped.WaitAsync(TimeSpan.FromSeconds(10));
        using var answered = await parked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }

    [Fact]
    public async Task UnknownPath_Is404()
    {
        await using var a = await InProcessAgent.StartAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync("/v1/nope")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await a.GetAsync("/")).StatusCode);
    }
}

public class DatacenterTests
{
    [Fact]
    public async Task OwnDatacenter_IsServed_AnotherIs400NoPath()
    {
        await using var a = await InProcessAgent.StartAsync();
        await a.PutAsync("/v1/kv/dc", "1");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await a.GetAsync("/v1/kv/dc?dc=dc1")).StatusCode);
        using var other = await a.GetAsync("/v1/kv/dc?dc=dc9");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, other.StatusCode);
        Assert.Contains("No path to datacenter", await other.Content.ReadAsStringAsync());
    }
}
