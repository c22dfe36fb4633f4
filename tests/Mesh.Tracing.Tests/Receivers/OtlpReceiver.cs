using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Tracing.Tests.Receivers;

/// <summary>
/// A stand-in OTLP collector on two ports, as Jaeger and the OpenTelemetry collector serve it: OTLP/HTTP
/// (<c>POST /v1/traces</c>, <c>application/x-protobuf</c>) on <see cref="HttpBaseAddress"/>, and OTLP/gRPC
/// (<c>/opentelemetry.proto.collector.trace.v1.TraceService/Export</c> over h2c) on <see cref="GrpcAddress"/>.
/// Requests it cannot decode are refused and their reason kept in <see cref="Errors"/>.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    /// <summary>The gRPC method the OTLP trace exporter calls.</summary>
    public const string GrpcExportPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    private KestrelHost? _http;
    private KestrelHost? _grpc;

    /// <summary>Spans with the transport they came over ("http" or "grpc").</summary>
    public Inbox<(string Transport, OtlpSpan Span)> Spans { get; } = new();

    /// <summary>Why requests were refused.</summary>
    public Inbox<string> Errors { get; } = new();

    /// <summary>Paths that OTLP/HTTP requests were posted to.</summary>
    public Inbox<string> HttpPaths { get; } = new();

    /// <summary><c>http://127.0.0.1:port</c> of the OTLP/HTTP listener.</summary>
    public Uri HttpBaseAddress => _http!.BaseAddress;

    /// <summary><c>http://127.0.0.1:port</c> of the OTLP/gRPC listener (HTTP/2 only, no TLS).</summary>
    public Uri GrpcAddress => _grpc!.BaseAddress;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver();
        receiver._http = await KestrelHost.StartAsync(HttpProtocols.Http1AndHttp2, receiver.HandleHttpAsync);
        receiver._grpc = await KestrelHost.StartAsync(HttpProtocols.Http2, receiver.HandleGrpcAsync);
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        if (_http is not null) await _http.DisposeAsync();
        if (_grpc is not null) await _grpc.DisposeAsync();
    }

    private async Task HandleHttpAsync(HttpContext context)
    {
        HttpPaths.AddRange([context.Request.Path.Value ?? ""]);
        if (context.Request.Method != "POST" || context.Request.Path != "/v1/traces")
        {
            context.Response.StatusCode = 404;
            return;
        }

        if (context.Request.ContentType != "application/x-protobuf")
        {
            Errors.AddRange([$"OTLP/HTTP content type {context.Request.ContentType}"]);
            context.Response.StatusCode = 415;
            return;
        }

        var body = await ReadBodyAsync(context);
        if (!TryDecode(body, "http", out _))
        {
            context.Response.StatusCode = 400;
            return;
        }

        // An empty ExportTraceServiceResponse: full success.
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-protobuf";
    }

    private async Task HandleGrpcAsync(HttpContext context)
    {
        if (context.Request.Method != "POST" || context.Request.Path != GrpcExportPath
            || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
        {
            Errors.AddRange([$"gRPC call {context.Request.Method} {context.Request.Path} {context.Request.ContentType}"]);
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "12"); // UNIMPLEMENTED
            return;
        }

        var body = await ReadBodyAsync(context);
        var status = "0";
        try
        {
            foreach (var message in OtlpDecoder.GrpcMessages(body))
            {
                if (!TryDecode(message, "grpc", out _)) status = "3"; // INVALID_ARGUMENT
            }
        }
        catch (FormatException e)
        {
            Errors.AddRange([e.Message]);
            status = "3";
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/grpc";
        if (status == "0")
        {
            // One empty ExportTraceServiceResponse: uncompressed flag, zero length.
            await context.Response.Body.WriteAsync(new byte[5]);
        }

        context.Response.AppendTrailer("grpc-status", status);
    }

    private bool TryDecode(byte[] message, string transport, out int count)
    {
        try
        {
            var spans = OtlpDecoder.DecodeExportRequest(message);
            count = spans.Count;
            Spans.AddRange(spans.Select(span => (transport, span)));
            return true;
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or FormatException)
        {
            Errors.AddRange([e.Message]);
            count = 0;
            return false;
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        return body.ToArray();
    }
}
