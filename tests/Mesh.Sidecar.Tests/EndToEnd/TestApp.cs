using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.EndToEnd;

/// <summary>
/// A service instance behind a sidecar: <c>GET /</c> answers <c>{"name":...,"count":N}</c> (like the counting demo),
/// <c>/echo</c> returns the request body, <c>/headers</c> the request headers, <c>/ws</c> is a WebSocket echo.
/// Plain HTTP/1.1 and h2c on one loopback port chosen by the OS.
/// </summary>
internal sealed class TestApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _count;

    private TestApp(WebApplication app, string name)
    {
        _app = app;
        Name = name;
    }

    /// <summary>The instance name every answer carries.</summary>
    public string Name { get; }

    /// <summary>The bound port.</summary>
    public int Port { get; private set; }

    /// <summary>Requests served so far.</summary>
    public int Count => Volatile.Read(ref _count);

    public static async Task<TestApp> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2));
        var app = builder.Build();
        var testApp = new TestApp(app, name);
        app.UseWebSockets();
        app.MapGet("/", () =>
        {
            var count = Interlocked.Increment(ref testApp._count);
            return Results.Json(new { name, count });
        });
        app.MapGet("/health", () => "ok");
        app.MapGet("/slow", async (int ms) =>
        {
            Interlocked.Increment(ref testApp._count);
            await Task.Delay(ms);
            return "slow done";
        });
        app.MapPost("/echo", async (HttpContext context) =>
        {
            Interlocked.Increment(ref testApp._count);
            context.Response.ContentType = "application/octet-stream";
            await context.Request.Body.CopyToAsync(context.Response.Body);
        });
        app.Map("/headers", (HttpContext context) =>
        {
            Interlocked.Increment(ref testApp._count);
            return Results.Json(context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()));
        });
        app.Map("/ws", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[4096];
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, CancellationToken.None);
            }
        });
        await app.StartAsync();
        testApp.Port = new Uri(app.Urls.First()).Port;
        return testApp;
    }

    /// <summary>Reads the instance name from a <c>GET /</c> answer.</summary>
    public static string NameOf(string json) => JsonDocument.Parse(json).RootElement.GetProperty("name").GetString()!;

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
