using Mesh.State.Tables;
using Mesh.Agent.Checks;
using Microsoft.AspNetCore.Http;

namespace Mesh.Agent.Tests.Checks;

public sealed class HttpCheckTests
{
    [Theory]
    [InlineData(200, "passing", "200 OK")]
    [InlineData(204, "passing", "204 No Content")]
    [InlineData(429, "warning", "429 Too Many Requests")]
    [InlineData(500, "critical", "500 Internal Server Error")]
    [InlineData(404, "critical", "404 Not Found")]
    public async Task ProbeAsync_StatusCode_MapsToConsulStatus(int code, string expected, string statusLine)
    {
        await using var server = await TestHttpServer.StartAsync(async ctx =>
        {
            ctx.Response.StatusCode = code;
            if (code != 204)
            {
                await ctx.Response.WriteAsync("body-" + code);
            }
        });
        using var probe = new HttpCheckProbe(new CheckDefinition { HTTP = server.Url, Interval = CheckKit.Interval });

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(expected, result.Status);
        var body = code == 204 ? string.Empty : "body-" + code;
        Assert.Equal($"HTTP GET {server.Url}: {statusLine} Output: {body}", result.Output);
    }

    [Fact]
    public async Task ProbeAsync_MethodHeadersBody_SentAsConfigured()
    {
        string? seen = null;
        await using var server = await TestHttpServer.StartAsync(async ctx =>
        {
            var body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
            seen = $"{ctx.Request.Method}|{ctx.Request.Headers["X-Probe"].ToString().Replace(" ", "")}|{ctx.Request.Headers.UserAgent}|{ctx.Request.Headers.Host}|{body}";
        });
        var definition = new CheckDefinition
        {
            HTTP = server.Url,
            Interval = CheckKit.Interval,
            Method = "PUT",
            Body = "{\"ping\":1}",
            Header = new Dictionary<string, IReadOnlyList<string>> { ["X-Probe"] = ["a", "b"], ["Host"] = ["svc.example"] },
        };
        using var probe = new HttpCheckProbe(definition);

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Passing, result.Status);
        Assert.StartsWith($"HTTP PUT {server.Url}: 200 OK", result.Output);
        Assert.Equal("PUT|a,b|Consul Health Check|svc.example|{\"ping\":1}", seen);
    }

    [Fact]
    public async Task ProbeAsync_LongBody_KeepsLast4KiB()
    {
        var body = new string('a', 3000) + new string('z', 5000);
        await using var server = await TestHttpServer.StartAsync(ctx => ctx.Response.WriteAsync(body));
        using var probe = new HttpCheckProbe(new CheckDefinition { HTTP = server.Url, Interval = CheckKit.Interval });

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.EndsWith(" Output: " + new string('z', 4096), result.Output);
    }

    [Fact]
    public async Task ProbeAsync_HangingServer_CriticalWithinTimeout()
    {
        var release = new TaskCompletionSource();
        await using var server = await TestHttpServer.StartAsync(async ctx => await release.Task.WaitAsync(ctx.RequestAborted));
        using var probe = new HttpCheckProbe(new CheckDefinition
        {
            HTTP = server.Url,
            Interval = CheckKit.Interval,
            Timeout = TimeSpan.FromMilliseconds(200),
        });

        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = await probe.ProbeAsync(CancellationToken.None);
        release.TrySetResult();

        Assert.Equal(HealthStatus.Critical, result.Status);
        Assert.Contains("Client.Timeout exceeded", result.Output);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task ProbeAsync_NothingListening_Critical()
    {
        string url;
        await using (var server = await TestHttpServer.StartAsync(_ => Task.CompletedTask))
        {
            url = server.Url;
        }

        using var probe = new HttpCheckProbe(new CheckDefinition { HTTP = url, Interval = CheckKit.Interval });

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Critical, result.Status);
        Assert.StartsWith($"Get \"{url}\": ", result.Output);
    }

    [Fact]
    public async Task Monitor_ServerTurns500_ReportsPassingThenCritical()
    {
        var code = 200;
        await using var server = await TestHttpServer.StartAsync(ctx =>
        {
            ctx.Response.StatusCode = Volatile.Read(ref code);
            return Task.CompletedTask;
        });
        var sink = new ResultSink();
        await using var monitor = CheckKit.Monitor(new CheckDefinition { HTTP = server.Url, Interval = CheckKit.Interval }, sink);

        Assert.Equal(HealthStatus.Passing, (await sink.NextAsync()).Status);
        Volatile.Write(ref code, 500);

        var critical = await sink.NextAsync();
        Assert.Equal(HealthStatus.Critical, critical.Status);
        Assert.Contains(": 500 Internal Server Error", critical.Output);
    }
}
