using System.Diagnostics;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Http;

/// <summary>Trace propagation and the access log through the proxy.</summary>
public sealed class HttpProxyTracingTests
{
    private static async Task<(ProxyHarness Proxy, TestServer Backend)> StartAsync(TracingConfig? tracing, TracingConfig? processTracing = null)
    {
        var backend = await TestServer.StartAsync(ctx =>
        {
            var h = ctx.Request.Headers;
            return ctx.Response.WriteAsync($"{h["traceparent"]}|{h["X-B3-TraceId"]}|{h["X-B3-SpanId"]}|{h["X-B3-ParentSpanId"]}|{h["X-B3-Sampled"]}|{h["b3"]}|{h["tracestate"]}");
        });
        var cluster = Build.Cluster("c");
        var hcm = Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), Build.To("c"))), tracing: tracing);
        var proxy = processTracing is null ? await ProxyHarness.StartAsync(hcm, cluster) : await ProxyHarness.StartAsync(hcm, processTracing, cluster);
        proxy.Clusters.Set(cluster, backend.EndPoint);
        return (proxy, backend);
    }

    [Fact]
    public async Task HandleAsync_TraceparentIn_BothFormatsOutWithSameTraceAndNewSpan()
    {
        var (proxy, backend) = await StartAsync(new TracingConfig(0, "web"));
        await using var _ = proxy;
        await using var __ = backend;
        using var client = proxy.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        request.Headers.Add("tracestate", "vendor=1");

        var parts = (await (await client.SendAsync(request)).Content.ReadAsStringAsync()).Split('|');

        var traceparent = parts[0].Split('-');
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", traceparent[1]);
        Assert.NotEqual("b7ad6b7169203331", traceparent[2]);
        Assert.Equal("01", traceparent[3]);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", parts[1]);
        Assert.Equal(traceparent[2], parts[2]);
        Assert.Equal("b7ad6b7169203331", parts[3]);
        Assert.Equal("1", parts[4]);
        Assert.Equal("vendor=1", parts[6]);
        Assert.Contains(proxy.Logs.Entries, e => e.Category == AccessLog.Category && e.Message.Contains("0af7651916cd43dd8448eb211c80319c"));
    }

    [Fact]
    public async Task HandleAsync_B3MultiIn_W3cOutWithSameTrace()
    {
        var (proxy, backend) = await StartAsync(new TracingConfig(100, null));
        await using var _ = proxy;
        await using var __ = backend;
        using var client = proxy.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("X-B3-TraceId", "463ac35c9f6413ad");
        request.Headers.Add("X-B3-SpanId", "a2fb4a1d1a96d312");
        request.Headers.Add("X-B3-Sampled", "0");

        var parts = (await (await client.SendAsync(request)).Content.ReadAsStringAsync()).Split('|');

        // A 64-bit B3 trace id is left-padded to 128 bits; the incoming "not sampled" wins over 100 %.
        Assert.StartsWith("00-0000000000000000463ac35c9f6413ad-", parts[0]);
        Assert.EndsWith("-00", parts[0]);
        Assert.Equal("a2fb4a1d1a96d312", parts[3]);
        Assert.Equal("0", parts[4]);
    }

    [Fact]
    public async Task HandleAsync_B3SingleIn_ReplacedByMultiHeaders()
    {
        var (proxy, backend) = await StartAsync(new TracingConfig(0, null));
        await using var _ = proxy;
        await using var __ = backend;
        using var client = proxy.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90");

        var parts = (await (await client.SendAsync(request)).Content.ReadAsStringAsync()).Split('|');

        Assert.Equal("80f198ee56343ba864fe8b2a57d3eff7", parts[1]);
        Assert.Equal("e457b5a2e4d86bd1", parts[3]);
        Assert.Equal("1", parts[4]);
        Assert.Equal("", parts[5]);
    }

    [Fact]
    public async Task HandleAsync_NoTracingConfigured_HeadersPassUntouched()
    {
        var (proxy, backend) = await StartAsync(null);
        await using var _ = proxy;
        await using var __ = backend;
        using var client = proxy.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        var parts = (await (await client.SendAsync(request)).Content.ReadAsStringAsync()).Split('|');

        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", parts[0]);
        Assert.Equal("", parts[1]);
    }

    [Fact]
    public async Task HandleAsync_ProcessTracingAndNoXdsTracing_ForwardsItsOwnSpanAsParent()
    {
        var (proxy, backend) = await StartAsync(null, processTracing: new TracingConfig(100, null));
        await using var _ = proxy;
        await using var __ = backend;
        using var client = proxy.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("traceparent", "00-3af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        var parts = (await (await client.SendAsync(request)).Content.ReadAsStringAsync()).Split('|');

        var traceparent = parts[0].Split('-');
        Assert.Equal(("3af7651916cd43dd8448eb211c80319c", "01"), (traceparent[1], traceparent[3]));
        Assert.NotEqual("b7ad6b7169203331", traceparent[2]);
        Assert.Equal((traceparent[2], "b7ad6b7169203331"), (parts[2], parts[3]));
    }

    [Fact]
    public async Task HandleAsync_XdsTracingAndProcessTracing_XdsSamplingDecides()
    {
        // xDS asks for 0 % of new traces; the process default of 100 % applies only where xDS says nothing.
        var (proxy, backend) = await StartAsync(new TracingConfig(0, null), processTracing: new TracingConfig(100, null));
        await using var _ = proxy;
        await using var __ = backend;
        using var client = proxy.Client();

        var parts = (await client.GetStringAsync("/")).Split('|');

        Assert.EndsWith("-00", parts[0]);
        Assert.Equal("0", parts[4]);
    }

    [Fact]
    public async Task HandleAsync_ListenerAttached_ClientSpanWithParentAndAttributes()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Mesh.Sidecar",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (stopped) stopped.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        var (proxy, backend) = await StartAsync(new TracingConfig(0, null));
        await using var _ = proxy;
        await using var __ = backend;
        using var client = proxy.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/items?x=1");
        request.Headers.Add("traceparent", "00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01");

        var parts = (await (await client.SendAsync(request)).Content.ReadAsStringAsync()).Split('|');

        Activity span;
        lock (stopped) span = stopped.Single(a => a.TraceId.ToHexString() == "1af7651916cd43dd8448eb211c80319c");
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("c7ad6b7169203331", span.ParentSpanId.ToHexString());
        Assert.Equal(span.SpanId.ToHexString(), parts[2]);
        Assert.Equal(200, span.GetTagItem("http.response.status_code"));
        Assert.Equal("c", span.GetTagItem("mesh.upstream.cluster"));
        Assert.Equal("/items", span.GetTagItem("url.path"));
    }

    [Fact]
    public async Task HandleAsync_Request_OneStructuredAccessLogLine()
    {
        var (proxy, backend) = await StartAsync(null);
        await using var _ = proxy;
        await using var __ = backend;
        using var client = proxy.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/log?a=b") { Content = new StringContent("12345") };
        request.Headers.Add("x-request-id", "rid-7");

        var body = await (await client.SendAsync(request)).Content.ReadAsStringAsync();

        var entry = Assert.Single(proxy.Logs.Entries, e => e.Category == AccessLog.Category);
        var fields = entry.State.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("POST", fields["Method"]);
        Assert.Equal("/log?a=b", fields["Path"]);
        Assert.Equal("HTTP/1.1", fields["Protocol"]);
        Assert.Equal(200, fields["Code"]);
        Assert.Equal("-", fields["Flags"]);
        Assert.Equal(5L, fields["BytesReceived"]);
        Assert.Equal((long)body.Length, fields["BytesSent"]);
        Assert.Equal("c", fields["Cluster"]);
        Assert.Equal(backend.EndPoint.ToString(), fields["UpstreamHost"]);
        Assert.Equal("rid-7", fields["RequestId"]);
        Assert.Equal(ProxyHarness.Listener, fields["Listener"]);
    }
}
