using System.Diagnostics;
using Mesh.Tracing.Tests.Receivers;
using Microsoft.Extensions.Logging;
using OpenTelemetry;

namespace Mesh.Tracing.Tests;

public class ZipkinExporterTests
{
    private static readonly TimeSpan Flush = TimeSpan.FromSeconds(15);

    /// <summary>A source no other test listens to, so parallel tests never see each other's spans.</summary>
    private static ActivitySource NewSource() => new("TracingTests.Zipkin." + Guid.NewGuid().ToString("N"), "2.1.0");

    private static TracingOptions ZipkinTo(ZipkinReceiver receiver, ActivitySource source, string serviceName) => new()
    {
        ServiceName = serviceName,
        Sources = [source.Name],
        Exporters = TraceExporters.Zipkin,
        ZipkinEndpoint = receiver.BaseAddress,
    };

    [Fact]
    public async Task Configure_Zipkin_TraceArrivesWithParentLinksKindsServiceAndTiming()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        using var source = NewSource();
        using var tracing = MeshTracing.Configure(ZipkinTo(receiver, source, "dashboard"));
        // The caller's context as it would arrive in a traceparent: this process's server span joins that trace.
        var caller = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        var start = new DateTime(2026, 11, 21, 12, 0, 0, DateTimeKind.Utc).AddTicks(1234567);

        ActivitySpanId serverId, clientId, producerId, consumerId, internalId;
        using (var server = source.StartActivity("GET /", ActivityKind.Server, caller)!)
        {
            server.SetStartTime(start);
            server.SetTag("client.address", "10.0.0.9");
            server.SetTag("http.response.status_code", 200);
            serverId = server.SpanId;
            using (var client = source.StartActivity("GET counting", ActivityKind.Client)!)
            {
                client.SetStartTime(start.AddMilliseconds(2));
                client.SetTag("peer.service", "counting");
                client.SetTag("server.address", "10.1.2.3:9003");
                client.SetStatus(ActivityStatusCode.Error, "upstream reset");
                client.SetEndTime(start.AddMilliseconds(2).AddTicks(2500)); // 250 µs
                clientId = client.SpanId;
            }

            using (var producer = source.StartActivity("publish", ActivityKind.Producer)!)
            {
                producerId = producer.SpanId;
            }

            using (var consumer = source.StartActivity("consume", ActivityKind.Consumer)!)
            {
                consumerId = consumer.SpanId;
            }

            using (var work = source.StartActivity("render")!)
            {
                work.SetStatus(ActivityStatusCode.Ok);
                internalId = work.SpanId;
            }

            server.SetEndTime(start.AddMilliseconds(15));
        }

        Assert.True(tracing.ForceFlush(Flush));
        var spans = await receiver.Spans.WaitAsync(s => s.Count(x => x.TraceId == caller.TraceId.ToHexString()) == 5);

        Assert.Empty(receiver.Errors.Items);
        Assert.All(receiver.ContentTypes.Items, type => Assert.StartsWith("application/json", type, StringComparison.Ordinal));
        var byId = spans.ToDictionary(s => s.Id);
        Assert.All(spans, s => Assert.Equal("dashboard", s.LocalServiceName));
        Assert.All(spans, s => Assert.Equal(caller.TraceId.ToHexString(), s.TraceId));
        Assert.All(spans, s => Assert.Equal(source.Name, s.Tags["otel.scope.name"]));
        Assert.All(spans, s => Assert.Equal("2.1.0", s.Tags["otel.scope.version"]));

        var serverSpan = byId[serverId.ToHexString()];
        Assert.Equal("SERVER", serverSpan.Kind);
        Assert.Equal("GET /", serverSpan.Name);
        Assert.Equal(caller.SpanId.ToHexString(), serverSpan.ParentId);
        Assert.Equal(ZipkinSpanWriter.Microseconds(start), serverSpan.Timestamp);
        Assert.Equal(15_000, serverSpan.Duration);
        Assert.Equal("10.0.0.9", serverSpan.RemoteEndpoint!.Ipv4);
        Assert.Equal("200", serverSpan.Tags["http.response.status_code"]);
        Assert.False(serverSpan.Tags.ContainsKey("error"));
        // Each hop has its own span id, so the server span shares nothing with its caller's: not "shared".
        Assert.Null(serverSpan.Shared);

        var clientSpan = byId[clientId.ToHexString()];
        Assert.Equal("CLIENT", clientSpan.Kind);
        Assert.Equal(serverId.ToHexString(), clientSpan.ParentId);
        Assert.Equal(ZipkinSpanWriter.Microseconds(start) + 2000, clientSpan.Timestamp);
        Assert.Equal(250, clientSpan.Duration);
        Assert.Equal(new ZipkinEndpoint("counting", "10.1.2.3", null, 9003), clientSpan.RemoteEndpoint);
        Assert.Equal("ERROR", clientSpan.Tags["otel.status_code"]);
        Assert.Equal("upstream reset", clientSpan.Tags["error"]);

        Assert.Equal("PRODUCER", byId[producerId.ToHexString()].Kind);
        Assert.Equal("CONSUMER", byId[consumerId.ToHexString()].Kind);
        var internalSpan = byId[internalId.ToHexString()];
        Assert.Null(internalSpan.Kind);
        Assert.Equal(serverId.ToHexString(), internalSpan.ParentId);
        Assert.Equal("OK", internalSpan.Tags["otel.status_code"]);
        Assert.Null(internalSpan.RemoteEndpoint);
    }

    [Fact]
    public async Task Configure_Zipkin_RealClockTimesInMicroseconds()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        using var source = NewSource();
        using var tracing = MeshTracing.Configure(ZipkinTo(receiver, source, "counting"));
        var before = ZipkinSpanWriter.Microseconds(DateTime.UtcNow);
        string traceId;
        var watch = Stopwatch.StartNew();
        using (var span = source.StartActivity("work")!)
        {
            traceId = span.TraceId.ToHexString();
            await Task.Delay(20);
        }

        watch.Stop();
        var after = ZipkinSpanWriter.Microseconds(DateTime.UtcNow);
        Assert.True(tracing.ForceFlush(Flush));

        var span1 = Assert.Single(await receiver.Spans.WaitAsync(s => s.Any(x => x.TraceId == traceId)), s => s.TraceId == traceId);
        Assert.InRange(span1.Timestamp, before, after);
        Assert.InRange(span1.Duration, 15_000, watch.Elapsed.Ticks / 10 + 1);
        Assert.Null(span1.ParentId);
    }

    [Fact]
    public async Task Configure_SpanNamesItsOwnService_LocalEndpointUsesIt()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        using var source = NewSource();
        using var tracing = MeshTracing.Configure(ZipkinTo(receiver, source, "sidecar-process"));
        string traceId;
        using (var span = source.StartActivity("GET", ActivityKind.Server)!)
        {
            // The sidecar names the service of each listener on its spans.
            span.SetTag("service.name", "counting-sidecar-proxy");
            traceId = span.TraceId.ToHexString();
        }

        Assert.True(tracing.ForceFlush(Flush));
        var spans = await receiver.Spans.WaitAsync(s => s.Any(x => x.TraceId == traceId));

        var arrived = Assert.Single(spans, s => s.TraceId == traceId);
        Assert.Equal("counting-sidecar-proxy", arrived.LocalServiceName);
        Assert.False(arrived.Tags.ContainsKey("service.name"));
    }

    [Fact]
    public async Task Configure_ParentBasedRatioZero_OnlyChildrenOfSampledCallersExported()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        using var source = NewSource();
        using var tracing = MeshTracing.Configure(ZipkinTo(receiver, source, "api") with { SamplingRatio = 0, ParentBased = true });
        var sampledCaller = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        var unsampledCaller = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None, isRemote: true);

        string rootTrace;
        using (var root = source.StartActivity("root", ActivityKind.Server))
        {
            // A dropped root may still be created to carry the ids onward, but it is not recorded.
            rootTrace = root?.TraceId.ToHexString() ?? "none";
            Assert.False(root?.Recorded ?? false);
        }

        using (var unsampled = source.StartActivity("unsampled", ActivityKind.Server, unsampledCaller))
        {
            Assert.False(unsampled?.Recorded ?? false);
        }

        using (var sampled = source.StartActivity("sampled", ActivityKind.Server, sampledCaller)!)
        {
            Assert.True(sampled.Recorded);
        }

        Assert.True(tracing.ForceFlush(Flush));
        var spans = await receiver.Spans.WaitAsync(s => s.Any(x => x.TraceId == sampledCaller.TraceId.ToHexString()));

        // The batch is exported in order and flushed whole, so what was dropped would have arrived by now.
        Assert.Equal("sampled", Assert.Single(spans).Name);
        Assert.DoesNotContain(spans, s => s.TraceId == rootTrace || s.TraceId == unsampledCaller.TraceId.ToHexString());
    }

    [Fact]
    public async Task Configure_DefaultSources_MeshSidecarSpansRecorded()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        // The sidecar's own source name; only this test attaches to "Mesh.*".
        using var sidecar = new ActivitySource("Mesh.Sidecar");
        using var tracing = MeshTracing.Configure(new TracingOptions
        {
            ServiceName = "web-sidecar-proxy",
            Exporters = TraceExporters.Zipkin,
            ZipkinEndpoint = receiver.SpansEndpoint,
        });
        string traceId;
        using (var span = sidecar.StartActivity("GET", ActivityKind.Client)!)
        {
            traceId = span.TraceId.ToHexString();
        }

        Assert.True(tracing.ForceFlush(Flush));
        var spans = await receiver.Spans.WaitAsync(s => s.Any(x => x.TraceId == traceId));

        Assert.Equal("web-sidecar-proxy", Assert.Single(spans, s => s.TraceId == traceId).LocalServiceName);
    }

    [Fact]
    public async Task Dispose_SpansStillBatched_SentBeforeShutdown()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        using var source = NewSource();
        var tracing = MeshTracing.Configure(ZipkinTo(receiver, source, "counting") with { BatchScheduleDelay = TimeSpan.FromMinutes(10) });
        string traceId;
        using (var span = source.StartActivity("last words")!)
        {
            traceId = span.TraceId.ToHexString();
        }

        tracing.Dispose();

        Assert.Contains(receiver.Spans.Items, s => s.TraceId == traceId);
    }

    [Fact]
    public async Task Configure_ScheduleDelay_ExportsWithoutFlush()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        using var source = NewSource();
        using var tracing = MeshTracing.Configure(ZipkinTo(receiver, source, "counting") with { BatchScheduleDelay = TimeSpan.FromMilliseconds(50) });
        string traceId;
        using (var span = source.StartActivity("background")!)
        {
            traceId = span.TraceId.ToHexString();
        }

        await receiver.Spans.WaitAsync(s => s.Any(x => x.TraceId == traceId));
    }

    [Fact]
    public void Configure_NoExporter_NothingListens()
    {
        using var source = NewSource();

        using var tracing = MeshTracing.Configure(new TracingOptions { Sources = [source.Name] });

        Assert.False(tracing.Enabled);
        Assert.Null(tracing.Provider);
        Assert.False(source.HasListeners());
        Assert.Null(source.StartActivity("ignored"));
        Assert.True(tracing.ForceFlush(TimeSpan.Zero));
    }

    [Fact]
    public async Task Export_CollectorRefuses_FailureAndWarning()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        receiver.FailWith = 503;
        var logger = new CapturingLogger();
        using var exporter = new ZipkinExporter(new ZipkinExporterOptions { Endpoint = receiver.SpansEndpoint }, logger);

        Assert.Equal(ExportResult.Failure, exporter.Export(OneSpanBatch()));

        var (level, message) = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("HTTP 503", message, StringComparison.Ordinal);
        Assert.Contains(receiver.SpansEndpoint.ToString(), message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_CollectorGone_Failure()
    {
        Uri endpoint;
        await using (var receiver = await ZipkinReceiver.StartAsync())
        {
            endpoint = receiver.SpansEndpoint;
        }

        var logger = new CapturingLogger();
        using var exporter = new ZipkinExporter(new ZipkinExporterOptions { Endpoint = endpoint, Timeout = TimeSpan.FromSeconds(5) }, logger);

        Assert.Equal(ExportResult.Failure, exporter.Export(OneSpanBatch()));
        Assert.Equal(LogLevel.Warning, Assert.Single(logger.Entries).Level);
    }

    [Fact]
    public async Task Export_OutsideProvider_FallbackServiceName()
    {
        await using var receiver = await ZipkinReceiver.StartAsync();
        using var exporter = new ZipkinExporter(new ZipkinExporterOptions { Endpoint = receiver.SpansEndpoint, ServiceName = "standalone" });

        Assert.Equal(ExportResult.Success, exporter.Export(OneSpanBatch()));

        Assert.Equal("standalone", Assert.Single(receiver.Spans.Items).LocalServiceName);
    }

    private sealed class CapturingLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }

    private static Batch<Activity> OneSpanBatch()
    {
        var activity = new Activity("lonely");
        activity.SetIdFormat(ActivityIdFormat.W3C);
        activity.Start();
        activity.Stop();
        return new Batch<Activity>([activity], 1);
    }
}
