using System.Net;
using Mesh.Demos.Hosting;
using Mesh.Demos.Tracing;

namespace Mesh.Demos.Counting;

/// <summary>The counting service's answer.</summary>
/// <param name="Count">How many counting requests this instance has answered, this one included.</param>
/// <param name="Hostname">The host the instance runs on.</param>
internal sealed record CountAnswer(long Count, string Hostname);

/// <summary>
/// <c>mesh-demo counting</c>: every GET except <c>/health</c> adds one to a counter and answers
/// <c>{"count":N,"hostname":"..."}</c>, the first answer being 1; <c>/health</c> answers 200 for the agent's check.
/// </summary>
internal sealed class CountingService : IDemoService
{
    private long _count;

    /// <inheritdoc />
    public string Name => "counting";

    /// <inheritdoc />
    public string Summary => "Counts requests: GET / answers {\"count\":N,\"hostname\":\"...\"}, N going up by one per request; GET /health answers 200.";

    /// <inheritdoc />
    public int DefaultPort => 9003;

    /// <inheritdoc />
    public void AddFlags(FlagSet flags)
    {
    }

    /// <inheritdoc />
    public void ConfigureServices(WebApplicationBuilder builder)
    {
    }

    /// <inheritdoc />
    public void Map(WebApplication app)
    {
        // Not traced: the agent's health check calls it every second, which would bury the requests worth seeing.
        app.MapGet("/health", () => Results.Text("ok\n"));
        app.MapGet("/{**path}", CountAsync);
    }

    private async Task CountAsync(HttpContext context)
    {
        using var span = DemoTracing.StartServer(context, $"GET {context.Request.Path}");
        var count = Interlocked.Increment(ref _count);
        span?.SetTag("demo.count", count);
        DemoTracing.Completed(span, HttpStatusCode.OK);
        await context.Response.WriteAsJsonAsync(new CountAnswer(count, DemoHost.HostName), DemoJson.Default.CountAnswer, cancellationToken: context.RequestAborted);
    }
}
