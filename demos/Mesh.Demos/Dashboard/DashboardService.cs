using System.Net.WebSockets;
using System.Text.Json;
using Mesh.Demos.Hosting;

namespace Mesh.Demos.Dashboard;

/// <summary>
/// <c>mesh-demo dashboard</c>: a page that shows counting's count live. The server polls counting once a second
/// through <c>COUNTING_SERVICE_URL</c> (the dashboard sidecar's upstream) and pushes each result to every open page
/// over a WebSocket, the count and the counting host, or that counting is unreachable and why.
/// </summary>
internal sealed class DashboardService : IDemoService
{
    private const string PageResource = "Mesh.Demos.Dashboard.index.html";
    private static readonly Lazy<byte[]> Page = new(LoadPage);

    private Uri _countingUrl = new("http://localhost:5000");

    /// <inheritdoc />
    public string Name => "dashboard";

    /// <inheritdoc />
    public string Summary => "Shows counting's count live: a page at /, updates over the WebSocket /ws, the latest poll as JSON at /api/status.";

    /// <inheritdoc />
    public int DefaultPort => 9002;

    /// <inheritdoc />
    public void AddFlags(FlagSet flags) =>
        flags.Add("counting-url", "The counting service's URL: its upstream's local port on the dashboard's sidecar.", "http://localhost:5000",
            value => _countingUrl = FlagSet.ParseHttpUrl("counting-url", value), "COUNTING_SERVICE_URL");

    /// <inheritdoc />
    public void ConfigureServices(WebApplicationBuilder builder)
    {
        var options = new DashboardOptions(_countingUrl, PollInterval: TimeSpan.FromSeconds(1), Timeout: TimeSpan.FromSeconds(2));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new StatusBoard(new CountingStatus(CountingStatus.Connecting, _countingUrl.ToString(), DateTimeOffset.UtcNow)));
        builder.Services.AddHostedService<CountingPoller>();
    }

    /// <inheritdoc />
    public void Map(WebApplication app)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.MapGet("/", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Bytes(Page.Value, "text/html; charset=utf-8");
        });
        app.MapGet("/health", () => Results.Text("ok\n"));
        app.MapGet("/api/status", (StatusBoard board) => Results.Json(board.Current, DemoJson.Default.CountingStatus));
        app.Map("/ws", StreamAsync);
    }

    /// <summary>Sends the latest status at once, then each new one, until the page goes away or the dashboard stops.</summary>
    private static async Task StreamAsync(HttpContext context, StatusBoard board, IHostApplicationLifetime lifetime)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("/ws takes WebSocket connections only\n");
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var closed = WaitForCloseAsync(socket, stop.Token);
        try
        {
            while (true)
            {
                var (status, changed) = board.Watch();
                await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(status, DemoJson.Default.CountingStatus), WebSocketMessageType.Text, true, stop.Token);
                if (await Task.WhenAny(changed, closed) == closed) break;
            }

            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                var (code, why) = lifetime.ApplicationStopping.IsCancellationRequested
                    ? (WebSocketCloseStatus.EndpointUnavailable, "dashboard stopping")
                    : (WebSocketCloseStatus.NormalClosure, "bye");
                await socket.CloseOutputAsync(code, why, closing.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The page went away mid-send, or the close handshake did not finish in time: nothing left to tell it.
        }
    }

    /// <summary>Reads (and drops) what the page sends, so its close frame is seen; completes on close, error or cancellation.</summary>
    private static async Task WaitForCloseAsync(WebSocket socket, CancellationToken cancellation)
    {
        var buffer = new byte[1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cancellation);
                if (result.MessageType == WebSocketMessageType.Close) return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
    }

    private static byte[] LoadPage()
    {
        using var stream = typeof(DashboardService).Assembly.GetManifestResourceStream(PageResource)
            ?? throw new InvalidOperationException($"the embedded resource {PageResource} is missing from the build");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
