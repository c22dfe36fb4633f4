using System.Net;
using System.Net.Http.Json;
using Mesh.Demos.Tests.Infrastructure;
using Mesh.Tracing.Tests.Receivers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Demos.Tests.Services;

/// <summary><c>mesh-demo api</c> and <c>mesh-demo web</c> as processes.</summary>
public class CanaryServiceTests
{
    private sealed record ApiAnswer(string service, string version, string hostname);

    private sealed record ErrorAnswer(string error);

    [Fact]
    public async Task Api_Get_ReportsItsVersion()
    {
        await using var api = await MeshDemoProcess.StartAsync(["api", "-port", "0", "-version", "v2"]);
        using var http = new HttpClient { BaseAddress = api.BaseAddress };

        var answer = await http.GetFromJsonAsync<ApiAnswer>("/");

        Assert.Equal(new ApiAnswer("api", "v2", Dns.GetHostName()), answer);
    }

    [Fact]
    public async Task Web_ApiAnswers_RelaysItsJson()
    {
        await using var api = await MeshDemoProcess.StartAsync(["api", "-port", "0", "-version", "v1"]);
        await using var web = await MeshDemoProcess.StartAsync(["web", "-port", "0"], new Dictionary<string, string> { ["API_URL"] = api.BaseAddress.ToString() });
        using var http = new HttpClient { BaseAddress = web.BaseAddress };

        using var response = await http.GetAsync("/");
        var answer = await response.Content.ReadFromJsonAsync<ApiAnswer>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("v1", answer!.version);
    }

    [Fact]
    public async Task Web_ApiUnreachable_Answers502WithJsonError()
    {
        var port = FreePorts.Take(1)[0];
        await using var web = await MeshDemoProcess.StartAsync(["web", "-port", "0", "-api-url", $"http://127.0.0.1:{port}"]);
        using var http = new HttpClient { BaseAddress = web.BaseAddress };

        using var response = await http.GetAsync("/");
        var error = await response.Content.ReadFromJsonAsync<ErrorAnswer>();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.StartsWith($"api unreachable at http://127.0.0.1:{port}/", error!.error);
        Assert.Contains("Connection refused", error.error);
    }

    [Fact]
    public async Task Web_ApiAnswers503_Answers502NamingTheStatus()
    {
        await using var api = await KestrelHost.StartAsync(HttpProtocols.Http1, async context =>
        {
            context.Response.StatusCode = 503;
            await context.Response.WriteAsync("no healthy upstream");
        });
        await using var web = await MeshDemoProcess.StartAsync(["web", "-port", "0", "-api-url", api.BaseAddress.ToString()]);
        using var http = new HttpClient { BaseAddress = web.BaseAddress };

        using var response = await http.GetAsync("/");
        var error = await response.Content.ReadFromJsonAsync<ErrorAnswer>();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("api answered 503 Service Unavailable: no healthy upstream", error!.error);
    }

    [Fact]
    public async Task Web_NotTracing_HandsTheCallersTraceHeadersOn()
    {
        string? traceparent = null, b3 = null;
        await using var api = await KestrelHost.StartAsync(HttpProtocols.Http1, async context =>
        {
            traceparent = context.Request.Headers["traceparent"];
            b3 = context.Request.Headers["X-B3-TraceId"];
            await context.Response.WriteAsync("{\"service\":\"api\",\"version\":\"v1\",\"hostname\":\"h\"}");
        });
        await using var web = await MeshDemoProcess.StartAsync(["web", "-port", "0", "-api-url", api.BaseAddress.ToString()]);
        using var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator() })
        {
            BaseAddress = web.BaseAddress,
        };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        request.Headers.Add("X-B3-TraceId", "0af7651916cd43dd8448eb211c80319c");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", traceparent);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", b3);
    }
}
