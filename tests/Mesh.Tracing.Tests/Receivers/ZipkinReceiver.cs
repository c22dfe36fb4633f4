using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Tracing.Tests.Receivers;

/// <summary>A Zipkin v2 span as it arrived on the wire.</summary>
public sealed record ZipkinSpan(
    string TraceId,
    string Id,
    string? ParentId,
    string? Kind,
    string Name,
    long Timestamp,
    long Duration,
    string? LocalServiceName,
    ZipkinEndpoint? RemoteEndpoint,
    bool? Shared,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<(long Timestamp, string Value)> Annotations);

/// <summary>A Zipkin endpoint object.</summary>
public sealed record ZipkinEndpoint(string? ServiceName, string? Ipv4, string? Ipv6, int? Port);

/// <summary>
/// A stand-in Zipkin collector: <c>POST /api/v2/spans</c> with a JSON array of v2 spans, answered 202 as Zipkin does.
/// It checks the wire format strictly (lower-hex ids of the right length, known kinds, integer times, string tags,
/// no unknown fields) and answers 400 with the reason otherwise, keeping the reason in <see cref="Errors"/>.
/// </summary>
public sealed class ZipkinReceiver : IAsyncDisposable
{
    private static readonly HashSet<string> SpanFields =
        ["traceId", "id", "parentId", "kind", "name", "timestamp", "duration", "localEndpoint", "remoteEndpoint", "annotations", "tags", "debug", "shared"];

    private static readonly HashSet<string> Kinds = ["CLIENT", "SERVER", "PRODUCER", "CONSUMER"];

    private KestrelHost? _host;

    /// <summary>The spans received.</summary>
    public Inbox<ZipkinSpan> Spans { get; } = new();

    /// <summary>Why requests were refused.</summary>
    public Inbox<string> Errors { get; } = new();

    /// <summary>Content types of accepted POSTs.</summary>
    public Inbox<string> ContentTypes { get; } = new();

    /// <summary>When set, every request is answered with this status and its spans are dropped.</summary>
    public int? FailWith { get; set; }

    /// <summary>The collector's base URL, <c>http://127.0.0.1:port</c>.</summary>
    public Uri BaseAddress => _host!.BaseAddress;

    /// <summary>The full span endpoint.</summary>
    public Uri SpansEndpoint => new(BaseAddress, "/api/v2/spans");

    public static async Task<ZipkinReceiver> StartAsync()
    {
        var receiver = new ZipkinReceiver();
        receiver._host = await KestrelHost.StartAsync(HttpProtocols.Http1AndHttp2, receiver.HandleAsync);
        return receiver;
    }

    public ValueTask DisposeAsync() => _host?.DisposeAsync() ?? ValueTask.CompletedTask;

    private async Task HandleAsync(HttpContext context)
    {
        if (context.Request.Path != "/api/v2/spans" || context.Request.Method != "POST")
        {
            context.Response.StatusCode = 404;
            return;
        }

        if (FailWith is { } status)
        {
            context.Response.StatusCode = status;
            return;
        }

        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        List<ZipkinSpan> spans;
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            spans = Parse(document.RootElement);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            Errors.AddRange([e.Message]);
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync(e.Message);
            return;
        }

        ContentTypes.AddRange([context.Request.ContentType ?? ""]);
        Spans.AddRange(spans);
        context.Response.StatusCode = 202;
    }

    private static List<ZipkinSpan> Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Array) throw new FormatException("the body is not a JSON array");
        var spans = new List<ZipkinSpan>();
        foreach (var span in root.EnumerateArray())
        {
            foreach (var property in span.EnumerateObject())
            {
                if (!SpanFields.Contains(property.Name)) throw new FormatException($"unknown span field \"{property.Name}\"");
            }

            var traceId = Hex(span.GetProperty("traceId").GetString(), "traceId", 16, 32);
            var id = Hex(span.GetProperty("id").GetString(), "id", 16);
            var parentId = span.TryGetProperty("parentId", out var parent) ? Hex(parent.GetString(), "parentId", 16) : null;
            string? kind = null;
            if (span.TryGetProperty("kind", out var kindElement))
            {
                kind = kindElement.GetString();
                if (kind is null || !Kinds.Contains(kind)) throw new FormatException($"unknown kind \"{kind}\"");
            }

            var tags = new Dictionary<string, string>(StringComparer.Ordinal);
            if (span.TryGetProperty("tags", out var tagsElement))
            {
                foreach (var tag in tagsElement.EnumerateObject())
                {
                    if (tag.Value.ValueKind != JsonValueKind.String) throw new FormatException($"tag \"{tag.Name}\" is not a string");
                    if (!tags.TryAdd(tag.Name, tag.Value.GetString()!)) throw new FormatException($"tag \"{tag.Name}\" appears twice");
                }
            }

            var annotations = new List<(long, string)>();
            if (span.TryGetProperty("annotations", out var annotationsElement))
            {
                foreach (var annotation in annotationsElement.EnumerateArray())
                {
                    annotations.Add((annotation.GetProperty("timestamp").GetInt64(), annotation.GetProperty("value").GetString()!));
                }
            }

            spans.Add(new ZipkinSpan(
                traceId,
                id,
                parentId,
                kind,
                span.GetProperty("name").GetString()!,
                span.GetProperty("timestamp").GetInt64(),
                span.GetProperty("duration").GetInt64(),
                span.TryGetProperty("localEndpoint", out var local) ? Endpoint(local).ServiceName : null,
                span.TryGetProperty("remoteEndpoint", out var remote) ? Endpoint(remote) : null,
                span.TryGetProperty("shared", out var shared) ? shared.GetBoolean() : null,
                tags,
                annotations));
        }

        return spans;
    }

    private static ZipkinEndpoint Endpoint(JsonElement element)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name is not ("serviceName" or "ipv4" or "ipv6" or "port")) throw new FormatException($"unknown endpoint field \"{property.Name}\"");
        }

        return new ZipkinEndpoint(
            element.TryGetProperty("serviceName", out var name) ? name.GetString() : null,
            element.TryGetProperty("ipv4", out var ipv4) ? ipv4.GetString() : null,
            element.TryGetProperty("ipv6", out var ipv6) ? ipv6.GetString() : null,
            element.TryGetProperty("port", out var port) ? port.GetInt32() : null);
    }

    private static string Hex(string? value, string field, params int[] lengths)
    {
        if (value is null || !lengths.Contains(value.Length) || !value.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
        {
            throw new FormatException($"{field} \"{value}\" is not lower hex of length {string.Join(" or ", lengths)}");
        }

        return value;
    }
}
