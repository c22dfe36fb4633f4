using System.Net;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// Where the traced pair's sidecars send their spans: a Kestrel endpoint in this process taking Zipkin v2 JSON
/// (<c>POST /api/v2/spans</c>) and OTLP/HTTP protobuf (<c>POST /v1/traces</c>), answering as the real collectors do
/// and counting the spans by the time they started, so the spans of one measured run can be told from those of the
/// runs before it. Reading just the start times keeps the sink's own CPU small next to the proxies it measures.
/// </summary>
internal sealed class SpanSink : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _fromMicroseconds = long.MaxValue;
    private long _counted;
    private long _received;
    private long _rejected;

    private SpanSink(WebApplication app) => _app = app;

    /// <summary>The collector's base URL, <c>http://127.0.0.1:port</c>: Zipkin's and OTLP/HTTP's.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Requests the sink could not read (counted, answered 400).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    public static async Task<SpanSink> StartAsync(CancellationToken cancellation)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1AndHttp2));
        var app = builder.Build();
        var sink = new SpanSink(app);
        app.Run(sink.HandleAsync);
        await app.StartAsync(cancellation);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        sink.BaseAddress = new Uri(address);
        return sink;
    }

    /// <summary>Spans received in all, whenever they started.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>From now on, counts the spans that started at or after <paramref name="since"/> (and only those).</summary>
    public void CountFrom(DateTime since)
    {
        Interlocked.Exchange(ref _counted, 0);
        Interlocked.Exchange(ref _fromMicroseconds, Microseconds(since));
    }

    /// <summary>
    /// Waits until <paramref name="expected"/> spans started since the <see cref="CountFrom"/> mark have arrived, or
    /// until none arrived for <paramref name="quiet"/> (the exporters batch for up to 5 s), and returns how many did.
    /// </summary>
    public async Task<long> WaitForAsync(long expected, TimeSpan quiet, TimeSpan timeout, CancellationToken cancellation)
    {
        var deadline = DateTime.UtcNow + timeout;
        var count = Interlocked.Read(ref _counted);
        var changed = DateTime.UtcNow;
        while (count < expected && DateTime.UtcNow - changed < quiet && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, cancellation);
            var now = Interlocked.Read(ref _counted);
            if (now != count) changed = DateTime.UtcNow;
            count = now;
        }

        return count;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Method != "POST" || (request.Path != "/api/v2/spans" && request.Path != "/v1/traces"))
        {
            context.Response.StatusCode = 404;
            return;
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        var starts = new List<long>();
        try
        {
            if (request.Path == "/api/v2/spans") ReadZipkin(body.ToArray(), starts);
            else ReadOtlp(body.ToArray(), starts);
        }
        catch (Exception e) when (e is JsonException or InvalidProtocolBufferException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            Interlocked.Increment(ref _rejected);
            context.Response.StatusCode = 400;
            return;
        }

        var from = Interlocked.Read(ref _fromMicroseconds);
        Interlocked.Add(ref _received, starts.Count);
        Interlocked.Add(ref _counted, starts.Count(start => start >= from));
        // Zipkin answers 202; OTLP/HTTP 200 with an empty ExportTraceServiceResponse.
        if (request.Path == "/api/v2/spans")
        {
            context.Response.StatusCode = 202;
        }
        else
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
        }
    }

    /// <summary>A Zipkin v2 JSON array: each span's <c>timestamp</c>, in microseconds since the epoch.</summary>
    private static void ReadZipkin(byte[] body, List<long> starts)
    {
        using var document = JsonDocument.Parse(body);
        if (document.RootElement.ValueKind != JsonValueKind.Array) throw new FormatException("not a JSON array of spans");
        foreach (var span in document.RootElement.EnumerateArray()) starts.Add(span.GetProperty("timestamp").GetInt64());
    }

    /// <summary>
    /// An OTLP <c>ExportTraceServiceRequest</c>: resource_spans (1) → scope_spans (2) → spans (2) →
    /// start_time_unix_nano (7, fixed64), read straight off the protobuf wire format.
    /// </summary>
    private static void ReadOtlp(byte[] body, List<long> starts)
    {
        foreach (var resourceSpans in Messages(body, 1))
        {
            foreach (var scopeSpans in Messages(resourceSpans, 2))
            {
                foreach (var span in Messages(scopeSpans, 2)) starts.Add(StartMicroseconds(span));
            }
        }
    }

    private static List<byte[]> Messages(byte[] message, int field)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                found.Add(input.ReadBytes().ToByteArray());
            else
                input.SkipLastField();
        }

        return found;
    }

    private static long StartMicroseconds(byte[] span)
    {
        var input = new CodedInputStream(span);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 7 && WireFormat.GetTagWireType(tag) == WireFormat.WireType.Fixed64)
                return (long)(input.ReadFixed64() / 1000);
            input.SkipLastField();
        }

        throw new FormatException("an OTLP span without start_time_unix_nano");
    }

    private static long Microseconds(DateTime utc) => (utc - DateTime.UnixEpoch).Ticks / 10;
}
