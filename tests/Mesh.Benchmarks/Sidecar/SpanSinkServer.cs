using System.Net;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// Where the traced pair's sidecars send their spans, run as its own process (<c>Mesh.Benchmarks span-sink --port
/// N</c>): a Kestrel endpoint taking Zipkin v2 JSON (<c>POST /api/v2/spans</c>) and OTLP/HTTP protobuf
/// (<c>POST /v1/traces</c>), answering as the real collectors do and counting the spans by the time they started, so
/// the spans of one measured run can be told from those of the runs before it. Its own process, because decoding
/// thousands of spans a second allocates, and the load generator's process must not collect garbage it did not make
/// while it times the path. <see cref="SpanSink"/> is its handle in the benchmark.
/// Control: <c>POST /sink/count-from/{microseconds}</c> and <c>GET /sink/counts</c> ("counted received rejected").
/// </summary>
internal sealed class SpanSinkServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _fromMicroseconds = long.MaxValue;
    private long _counted;
    private long _received;
    private long _rejected;

    private SpanSinkServer(WebApplication app) => _app = app;

    /// <summary>The child process's entry: serves on <c>--port</c> until stdin closes (the benchmark ended) or a signal.</summary>
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellation)
    {
        var at = Array.IndexOf(args, "--port");
        if (at < 0 || at + 1 >= args.Length || !int.TryParse(args[at + 1], out var port) || port is < 1 or > 65535)
        {
            await Console.Error.WriteLineAsync("span-sink needs --port <1-65535>");
            return 2;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http1AndHttp2));
        await using var server = new SpanSinkServer(builder.Build());
        server._app.Run(server.HandleAsync);
        await server._app.StartAsync(cancellation);
        // The parent holds stdin open for as long as it wants the sink; end of input is the signal to stop.
        try
        {
            await Console.In.ReadToEndAsync(cancellation);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Path.StartsWithSegments("/sink", out var control))
        {
            await ControlAsync(context, control.Value ?? "");
            return;
        }

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

    private async Task ControlAsync(HttpContext context, string path)
    {
        if (context.Request.Method == "POST" && path.StartsWith("/count-from/", StringComparison.Ordinal)
            && long.TryParse(path["/count-from/".Length..], out var from))
        {
            // From now on, count only the spans that started at or after the mark.
            Interlocked.Exchange(ref _counted, 0);
            Interlocked.Exchange(ref _fromMicroseconds, from);
            context.Response.StatusCode = 204;
        }
        else if (context.Request.Method == "GET" && path == "/counts")
        {
            await context.Response.WriteAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{Interlocked.Read(ref _counted)} {Interlocked.Read(ref _received)} {Interlocked.Read(ref _rejected)}"));
        }
        else
        {
            context.Response.StatusCode = 404;
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

}
