using System.Diagnostics;
using System.Net.Http.Json;
using Mesh.Demos.Tests.Infrastructure;
using Mesh.Tracing.Tests.Receivers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Demos.Tests.Services;

/// <summary>The spans each demo service makes, exported to the test collectors through the <c>OTEL_*</c> environment.</summary>
public class ServiceTracingTests
{
    private const string CallerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string CallerSpan = "00f067aa0ba902b7";

    [Fact]
    public async Task Counting_RequestWithTraceparent_ServerSpanIsChildOfTheCaller()
    {
        await using var zipkin = await ZipkinReceiver.StartAsync();
        await using var counting = await MeshDemoProcess.StartAsync(["counting", "-port", "0"], ZipkinEnvironment(zipkin));
        using var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator() })
        {
            BaseAddress = counting.BaseAddress,
        };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("traceparent", $"00-{CallerTrace}-{CallerSpan}-01");

        using var response = await http.SendAsync(request);
        var spans = await zipkin.Spans.WaitAsync(s => s.Any(x => x.TraceId == CallerTrace), TimeSpan.FromSeconds(30));

        var span = Assert.Single(spans, s => s.TraceId == CallerTrace);
        Assert.Equal("SERVER", span.Kind);
        Assert.Equal(CallerSpan, span.ParentId);
        Assert.Equal("counting", span.LocalServiceName);
        Assert.Equal("GET /", span.Name);
        Assert.Equal("200", span.Tags["http.response.status_code"]);
        Assert.Equal("1", span.Tags["demo.count"]);
    }

    [Fact]
    public async Task Counting_B3Headers_ServerSpanJoinsTheTrace()
    {
        await using var zipkin = await ZipkinReceiver.StartAsync();
        await using var counting = await MeshDemoProcess.StartAsync(["counting", "-port", "0"], ZipkinEnvironment(zipkin));
        using var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator() })
        {
            BaseAddress = counting.BaseAddress,
        };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("X-B3-TraceId", CallerTrace);
        request.Headers.Add("X-B3-SpanId", CallerSpan);
        request.Headers.Add("X-B3-Sampled", "1");

        using var response = await http.SendAsync(request);
        var spans = await zipkin.Spans.WaitAsync(s => s.Any(x => x.TraceId == CallerTrace), TimeSpan.FromSeconds(30));

        Assert.Equal(CallerSpan, Assert.Single(spans, s => s.TraceId == CallerTrace).ParentId);
    }

    [Fact]
    public async Task Counting_HealthChecks_AreNotTraced()
    {
        await using var zipkin = await ZipkinReceiver.StartAsync();
        await using var counting = await MeshDemoProcess.StartAsync(["counting", "-port", "0"], ZipkinEnvironment(zipkin));
        using var http = new HttpClient { BaseAddress = counting.BaseAddress };

        for (var i = 0; i < 3; i++) (await http.GetAsync("/health")).EnsureSuccessStatusCode();
        await http.GetAsync("/");
        var spans = await zipkin.Spans.WaitAsync(s => s.Count >= 1, TimeSpan.FromSeconds(30));

        Assert.Equal("GET /", Assert.Single(spans).Name);
    }

    [Fact]
    public async Task Dashboard_Poll_IsARootClientSpanWhoseContextCountingReceives()
    {
        await using var otlp = await OtlpReceiver.StartAsync();
        var received = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var counting = await KestrelHost.StartAsync(HttpProtocols.Http1, async context =>
        {
            received.Enqueue(context.Request.Headers["traceparent"].ToString());
            await context.Response.WriteAsync("{\"count\":7,\"hostname\":\"stand-in\"}");
        });
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0", "-counting-url", counting.BaseAddress.ToString()], new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.HttpBaseAddress.ToString(),
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        });

        var spans = await otlp.Spans.WaitAsync(s => s.Count >= 1, TimeSpan.FromSeconds(30));

        var (transport, span) = spans[0];
        Assert.Equal("http", transport);
        Assert.Equal("dashboard", span.ServiceName);
        Assert.Equal(OtlpDecoder.KindClient, span.Kind);
        Assert.Equal("GET counting", span.Name);
        Assert.Null(span.ParentSpanId);
        Assert.Equal("counting", span.Attributes["peer.service"]);
        Assert.Equal("7", span.Attributes["demo.count"]);
        Assert.Contains($"00-{span.TraceId}-{span.SpanId}-01", received);
    }

    [Fact]
    public async Task Web_Request_ServerSpanParentsTheClientSpanToApi()
    {
        await using var zipkin = await ZipkinReceiver.StartAsync();
        var environment = ZipkinEnvironment(zipkin);
        await using var api = await MeshDemoProcess.StartAsync(["api", "-port", "0", "-version", "v2"], environment);
        await using var web = await MeshDemoProcess.StartAsync(["web", "-port", "0", "-api-url", api.BaseAddress.ToString()], environment);
        using var http = new HttpClient { BaseAddress = web.BaseAddress };

        (await http.GetAsync("/")).EnsureSuccessStatusCode();
        var spans = await zipkin.Spans.WaitAsync(s => s.Count >= 3, TimeSpan.FromSeconds(30));

        var webServer = Assert.Single(spans, s => s.LocalServiceName == "web" && s.Kind == "SERVER");
        var webClient = Assert.Single(spans, s => s.LocalServiceName == "web" && s.Kind == "CLIENT");
        var apiServer = Assert.Single(spans, s => s.LocalServiceName == "api");
        Assert.Null(webServer.ParentId);
        Assert.Equal(webServer.Id, webClient.ParentId);
        Assert.Equal(webClient.Id, apiServer.ParentId);
        Assert.Equal("GET api", webClient.Name);
        Assert.Equal("v2", apiServer.Tags["demo.version"]);
        Assert.All(spans, s => Assert.Equal(webServer.TraceId, s.TraceId));
    }

    private static Dictionary<string, string> ZipkinEnvironment(ZipkinReceiver zipkin) => new()
    {
        ["OTEL_TRACES_EXPORTER"] = "zipkin",
        ["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] = zipkin.BaseAddress.ToString(),
        ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
    };
}
