using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Mesh.Tracing.Tests.Receivers;

namespace Mesh.Sidecar.Tests.EndToEnd;

/// <summary>
/// One request across the mesh with both sidecars exporting spans, each to its own kind of collector: the dashboard's
/// sidecar to a Zipkin receiver (set by flags), counting's to an OTLP/HTTP receiver (set by the <c>OTEL_*</c>
/// environment only). Both receivers decode the real wire formats.
/// </summary>
[Collection("EndToEnd")]
public sealed class TracingEndToEndTests
{
    [Fact]
    public async Task Request_BothSidecarsExporting_OneTraceLinkedAcrossTheHopAndFlushedOnSigterm()
    {
        await using var zipkin = await ZipkinReceiver.StartAsync();
        await using var otlp = await OtlpReceiver.StartAsync();
        // A batch delay of a minute: within the test, spans can only arrive through the flush at shutdown.
        var batchForAMinute = new Dictionary<string, string> { ["OTEL_BSP_SCHEDULE_DELAY"] = "60000" };
        await using var mesh = await MeshTopology.StartAsync("http", sidecars: id => id == "dashboard"
            ? new SidecarLaunch(["-tracing-exporter", "zipkin", "-tracing-zipkin-endpoint", zipkin.BaseAddress.ToString()], batchForAMinute)
            : new SidecarLaunch([], new Dictionary<string, string>(batchForAMinute) { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.HttpBaseAddress.ToString() }));
        await MeshTopology.EventuallyAsync(async () => await StatusAsync(mesh) == HttpStatusCode.OK, "a request through both sidecars");
        Assert.Contains("tracing: spans as service dashboard-sidecar-proxy to zipkin", mesh.Dashboard.Output);
        Assert.Contains("tracing: spans as service counting-sidecar-proxy to otlp (http/protobuf)", mesh.Counting["counting-1"].Sidecar.Output);

        // The app's own client span, as the dashboard would send it.
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var appSpan = ActivitySpanId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/headers");
        request.Headers.Add("traceparent", $"00-{traceId}-{appSpan}-01");
        using var response = await mesh.Upstream.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = JsonSerializer.Deserialize<Dictionary<string, string>>(await response.Content.ReadAsStringAsync())!;

        // SIGTERM: each proxy drains, flushes its batch and exits 0.
        Assert.Equal(0, await mesh.Dashboard.TerminateAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await mesh.Counting["counting-1"].Sidecar.TerminateAsync(TimeSpan.FromSeconds(30)));

        var outbound = (await zipkin.Spans.WaitAsync(spans => spans.Any(s => s.TraceId == traceId), TimeSpan.FromSeconds(20)))
            .Single(s => s.TraceId == traceId);
        var inbound = (await otlp.Spans.WaitAsync(spans => spans.Any(s => s.Span.TraceId == traceId), TimeSpan.FromSeconds(20)))
            .Single(s => s.Span.TraceId == traceId).Span;

        // dashboard (the app) -> dashboard-sidecar-proxy (client) -> counting-sidecar-proxy (server) -> counting.
        Assert.Equal(("CLIENT", appSpan, "dashboard-sidecar-proxy"), (outbound.Kind, outbound.ParentId, outbound.LocalServiceName));
        Assert.Equal((OtlpDecoder.KindServer, outbound.Id, "counting-sidecar-proxy"), (inbound.Kind, inbound.ParentSpanId, inbound.ServiceName));
        Assert.Equal("counting", outbound.RemoteEndpoint?.ServiceName);
        Assert.Equal("dashboard", inbound.Attributes["peer.service"]);
        Assert.Equal(("200", "200"), (outbound.Tags["http.response.status_code"], inbound.Attributes["http.response.status_code"]));
        Assert.Equal("local_app", inbound.Attributes["mesh.upstream.cluster"]);
        Assert.StartsWith("counting.default.dc1.internal.", outbound.Tags["mesh.upstream.cluster"]);

        // The app behind counting's sidecar was handed that sidecar's span as its parent, in W3C and in B3.
        Assert.Equal($"00-{traceId}-{inbound.SpanId}-01", seen["traceparent"]);
        Assert.Equal((traceId, inbound.SpanId, outbound.Id, "1"),
            (seen["x-b3-traceid"], seen["x-b3-spanid"], seen["x-b3-parentspanid"], seen["x-b3-sampled"]));
        Assert.Empty(zipkin.Errors.Items);
        Assert.Empty(otlp.Errors.Items);
    }

    private static async Task<HttpStatusCode?> StatusAsync(MeshTopology mesh)
    {
        try
        {
            using var response = await mesh.Upstream.GetAsync("/");
            return response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            return null;
        }
    }
}
