using System.Diagnostics;
using Mesh.Tracing.Tests.Receivers;

namespace Mesh.Tracing.Tests;

public class OtlpExporterTests
{
    private static readonly TimeSpan Flush = TimeSpan.FromSeconds(15);

    private static ActivitySource NewSource() => new("TracingTests.Otlp." + Guid.NewGuid().ToString("N"));

    /// <summary>
    /// One request's spans in one process: a server span joining a remote caller's trace, and a client span under it
    /// calling the next hop, with fixed times so the nanoseconds on the wire can be checked exactly.
    /// </summary>
    private static (ActivityContext Caller, ActivitySpanId Server, ActivitySpanId Client, DateTime Start) EmitRequest(ActivitySource source)
    {
        var caller = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        var start = new DateTime(2026, 11, 21, 12, 0, 0, DateTimeKind.Utc).AddTicks(7);
        using var server = source.StartActivity("GET /", ActivityKind.Server, caller)!;
        server.SetStartTime(start);
        server.SetTag("http.response.status_code", 200);
        ActivitySpanId client;
        using (var call = source.StartActivity("GET counting", ActivityKind.Client)!)
        {
            call.SetStartTime(start.AddMilliseconds(1));
            call.SetTag("peer.service", "counting");
            call.SetStatus(ActivityStatusCode.Error);
            call.SetEndTime(start.AddMilliseconds(3));
            client = call.SpanId;
        }

        server.SetEndTime(start.AddMilliseconds(5));
        return (caller, server.SpanId, client, start);
    }

    private static ulong UnixNanos(DateTime utc) => (ulong)(utc - DateTime.UnixEpoch).Ticks * 100;

    private static async Task AssertRequestArrived(OtlpReceiver receiver, string transport,
        (ActivityContext Caller, ActivitySpanId Server, ActivitySpanId Client, DateTime Start) request, string serviceName, string scope)
    {
        var traceId = request.Caller.TraceId.ToHexString();
        var arrived = await receiver.Spans.WaitAsync(s => s.Count(x => x.Span.TraceId == traceId) == 2);

        Assert.Empty(receiver.Errors.Items);
        var spans = arrived.Where(x => x.Span.TraceId == traceId).ToList();
        Assert.All(spans, x => Assert.Equal(transport, x.Transport));
        Assert.All(spans, x => Assert.Equal(serviceName, x.Span.ServiceName));
        Assert.All(spans, x => Assert.Equal(scope, x.Span.ScopeName));

        var server = Assert.Single(spans, x => x.Span.SpanId == request.Server.ToHexString()).Span;
        Assert.Equal("GET /", server.Name);
        Assert.Equal(OtlpDecoder.KindServer, server.Kind);
        Assert.Equal(request.Caller.SpanId.ToHexString(), server.ParentSpanId);
        Assert.Equal(UnixNanos(request.Start), server.StartUnixNano);
        Assert.Equal(UnixNanos(request.Start.AddMilliseconds(5)), server.EndUnixNano);
        Assert.Equal("200", server.Attributes["http.response.status_code"]);

        var client = Assert.Single(spans, x => x.Span.SpanId == request.Client.ToHexString()).Span;
        Assert.Equal("GET counting", client.Name);
        Assert.Equal(OtlpDecoder.KindClient, client.Kind);
        Assert.Equal(request.Server.ToHexString(), client.ParentSpanId);
        Assert.Equal(UnixNanos(request.Start.AddMilliseconds(1)), client.StartUnixNano);
        Assert.Equal(UnixNanos(request.Start.AddMilliseconds(3)), client.EndUnixNano);
        Assert.Equal("counting", client.Attributes["peer.service"]);
        Assert.Equal(2, client.StatusCode); // STATUS_CODE_ERROR
    }

    [Fact]
    public async Task Configure_OtlpHttpBaseEndpoint_SpansPostedToV1Traces()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var source = NewSource();
        // As OTEL_EXPORTER_OTLP_ENDPOINT is usually written: the collector's base URL.
        var options = TracingOptions.FromEnvironment(name => name switch
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => receiver.HttpBaseAddress.ToString(),
            "OTEL_EXPORTER_OTLP_PROTOCOL" => "http/protobuf",
            "OTEL_SERVICE_NAME" => "dashboard",
            _ => null,
        }) with { Sources = [source.Name] };
        using var tracing = MeshTracing.Configure(options);

        var request = EmitRequest(source);
        Assert.True(tracing.ForceFlush(Flush));

        await AssertRequestArrived(receiver, "http", request, "dashboard", source.Name);
        Assert.All(receiver.HttpPaths.Items, path => Assert.Equal("/v1/traces", path));
    }

    [Fact]
    public async Task Configure_OtlpGrpc_SpansArriveOverHttp2()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var source = NewSource();
        using var tracing = MeshTracing.Configure(new TracingOptions
        {
            ServiceName = "counting",
            Sources = [source.Name],
            Exporters = TraceExporters.Otlp,
            OtlpProtocol = OtlpProtocol.Grpc,
            OtlpEndpoint = receiver.GrpcAddress,
        });

        var request = EmitRequest(source);
        Assert.True(tracing.ForceFlush(Flush));

        await AssertRequestArrived(receiver, "grpc", request, "counting", source.Name);
    }

    [Fact]
    public async Task Configure_OtlpAndZipkin_BothReceiveTheSameSpans()
    {
        await using var otlp = await OtlpReceiver.StartAsync();
        await using var zipkin = await ZipkinReceiver.StartAsync();
        using var source = NewSource();
        using var tracing = MeshTracing.Configure(new TracingOptions
        {
            ServiceName = "web",
            Sources = [source.Name],
            Exporters = TraceExporters.Otlp | TraceExporters.Zipkin,
            OtlpTracesEndpoint = new Uri(otlp.HttpBaseAddress, "/v1/traces"),
            ZipkinEndpoint = zipkin.BaseAddress,
        });

        var request = EmitRequest(source);
        Assert.True(tracing.ForceFlush(Flush));

        await AssertRequestArrived(otlp, "http", request, "web", source.Name);
        var traceId = request.Caller.TraceId.ToHexString();
        var zipkinSpans = await zipkin.Spans.WaitAsync(s => s.Count(x => x.TraceId == traceId) == 2);
        Assert.Equal(
            new[] { request.Client.ToHexString(), request.Server.ToHexString() }.Order(),
            zipkinSpans.Select(s => s.Id).Order());
    }

    [Fact]
    public async Task Configure_ResourceAttributes_SentWithServiceName()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var source = NewSource();
        var options = TracingOptions.FromEnvironment(name => name switch
        {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" => new Uri(receiver.HttpBaseAddress, "/v1/traces").ToString(),
            "OTEL_RESOURCE_ATTRIBUTES" => "service.name=ignored,deployment.environment=test",
            "OTEL_SERVICE_NAME" => "canary",
            _ => null,
        }) with { Sources = [source.Name] };
        using var tracing = MeshTracing.Configure(options);

        var request = EmitRequest(source);
        Assert.True(tracing.ForceFlush(Flush));

        await AssertRequestArrived(receiver, "http", request, "canary", source.Name);
        var span = receiver.Spans.Items.First(x => x.Span.TraceId == request.Caller.TraceId.ToHexString()).Span;
        Assert.Equal("test", span.ResourceAttributes["deployment.environment"]);
        Assert.Equal("opentelemetry", span.ResourceAttributes["telemetry.sdk.name"]);
    }
}
