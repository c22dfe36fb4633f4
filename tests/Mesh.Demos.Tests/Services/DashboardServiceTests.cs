using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Mesh.Demos.Tests.Infrastructure;
using Mesh.Tracing.Tests.Receivers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Demos.Tests.Services;

/// <summary><c>mesh-demo dashboard</c> as a process, against a real counting or a stand-in that misbehaves.</summary>
public class DashboardServiceTests
{
    internal sealed record Status(string state, string url, long? count, string? hostname, string? reason);

    [Fact]
    public async Task Status_CountingAnswers_ReachableWithRisingCount()
    {
        await using var counting = await MeshDemoProcess.StartAsync(["counting", "-port", "0"]);
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0", "-counting-url", counting.BaseAddress.ToString()]);
        using var http = new HttpClient { BaseAddress = dashboard.BaseAddress };

        var first = await WaitForStateAsync(http, "reachable");
        var later = await Eventually.WaitAsync(() => http.GetFromJsonAsync<Status>("/api/status")!, s => s!.count > first.count, "a higher count");

        Assert.Equal(System.Net.Dns.GetHostName(), first.hostname);
        Assert.Equal(counting.BaseAddress.ToString(), first.url);
        Assert.Null(later!.reason);
    }

    [Fact]
    public async Task Status_NothingListening_UnreachableWithConnectionRefused()
    {
        var port = FreePorts.Take(1)[0];
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0"],
            new Dictionary<string, string> { ["COUNTING_SERVICE_URL"] = $"http://127.0.0.1:{port}" });
        using var http = new HttpClient { BaseAddress = dashboard.BaseAddress };

        var status = await WaitForStateAsync(http, "unreachable");

        Assert.Contains("Connection refused", status.reason);
        Assert.Null(status.count);
        Assert.Contains("counting is unreachable", dashboard.Stdout);
    }

    [Fact]
    public async Task Status_CountingDenies_UnreachableWithStatusAndBody()
    {
        // What an L7 intention looks like from the dashboard: the sidecar's 403 with its reason.
        await using var denying = await KestrelHost.StartAsync(HttpProtocols.Http1, async context =>
        {
            context.Response.StatusCode = 403;
            await context.Response.WriteAsync("RBAC: access denied (intention policy \"dashboard => counting (deny)\" denies this request)");
        });
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0", "-counting-url", denying.BaseAddress.ToString()]);
        using var http = new HttpClient { BaseAddress = dashboard.BaseAddress };

        var status = await WaitForStateAsync(http, "unreachable");

        Assert.StartsWith("HTTP 403 Forbidden: RBAC: access denied", status.reason);
    }

    [Fact]
    public async Task Status_CountingAnswersNonsense_UnreachableWithTheAnswer()
    {
        await using var odd = await KestrelHost.StartAsync(HttpProtocols.Http1, context => context.Response.WriteAsync("<html>not counting</html>"));
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0", "-counting-url", odd.BaseAddress.ToString()]);
        using var http = new HttpClient { BaseAddress = dashboard.BaseAddress };

        var status = await WaitForStateAsync(http, "unreachable");

        Assert.Equal("unexpected answer: <html>not counting</html>", status.reason);
    }

    [Fact]
    public async Task Poll_EachOnANewConnection_SoIntentionsApplyAtOnce()
    {
        var connections = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var polls = 0;
        await using var counting = await KestrelHost.StartAsync(HttpProtocols.Http1, async context =>
        {
            connections.AddOrUpdate(context.Connection.Id, 1, (_, n) => n + 1);
            await context.Response.WriteAsync($"{{\"count\":{Interlocked.Increment(ref polls)},\"hostname\":\"stand-in\"}}");
        });
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0", "-counting-url", counting.BaseAddress.ToString()]);
        using var http = new HttpClient { BaseAddress = dashboard.BaseAddress };

        await Eventually.WaitAsync(() => http.GetFromJsonAsync<Status>("/api/status")!, s => s!.count >= 3, "three polls");

        Assert.All(connections.Values, requests => Assert.Equal(1, requests));
    }

    [Fact]
    public async Task WebSocket_Open_PushesEveryPoll()
    {
        await using var counting = await MeshDemoProcess.StartAsync(["counting", "-port", "0"]);
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0", "-counting-url", counting.BaseAddress.ToString()]);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{dashboard.BaseAddress.Authority}/ws"), CancellationToken.None);

        var counts = new List<long>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (counts.Count < 3)
        {
            var status = await ReceiveAsync(socket, deadline.Token);
            if (status.state == "reachable") counts.Add(status.count!.Value);
        }

        Assert.True(counts[0] < counts[1] && counts[1] < counts[2], string.Join(",", counts));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    [Fact]
    public async Task WebSocket_PlainGet_Answers400()
    {
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0"]);
        using var http = new HttpClient { BaseAddress = dashboard.BaseAddress };

        using var response = await http.GetAsync("/ws");

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Page_Get_ServesTheDashboardHtml()
    {
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0"]);
        using var http = new HttpClient { BaseAddress = dashboard.BaseAddress };

        using var response = await http.GetAsync("/");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("id=\"banner\"", html);
        Assert.Contains("Counting service is unreachable", html);
        Assert.Contains("/ws", html);
    }

    private static async Task<Status> WaitForStateAsync(HttpClient http, string state) =>
        (await Eventually.WaitAsync(() => http.GetFromJsonAsync<Status>("/api/status")!, s => s!.state == state, $"state {state}", TimeSpan.FromSeconds(30)))!;

    private static async Task<Status> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellation)
    {
        var buffer = new byte[4096];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, cancellation);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return JsonSerializer.Deserialize<Status>(Encoding.UTF8.GetString(message.ToArray()))!;
    }
}
