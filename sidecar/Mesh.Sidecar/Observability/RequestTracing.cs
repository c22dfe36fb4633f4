using System.Diagnostics;
using Mesh.Sidecar.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Mesh.Sidecar.Observability;

/// <summary>
/// Trace context for proxied requests. The parent comes from W3C <c>traceparent</c>/<c>tracestate</c>, else from B3
/// (the single <c>b3</c> header, else <c>X-B3-*</c>); an incoming sampling decision wins, otherwise the listener's
/// <see cref="TracingConfig.SamplePercent"/> decides, and for a request that starts a trace the process's sampler
/// (<c>-tracing-sample-ratio</c>) has the last word. Each hop gets a new span id and injects it upstream in both W3C
/// and B3 multi-header form, so Envoy-style and Zipkin-style applications stay on one trace. An
/// <see cref="Activity"/> (kind Server on inbound listeners, Client on outbound) is created only for a sampled request
/// and only when a listener is attached to <see cref="Source"/>; otherwise only the ids are carried, which costs two
/// random numbers.
/// </summary>
internal static class RequestTracing
{
    /// <summary>The source exporters subscribe to.</summary>
    public static readonly ActivitySource Source = new("Mesh.Sidecar");

    private static readonly string[] B3Headers = ["b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"];

    /// <summary>Starts the hop's trace context; <see cref="RequestSpan.Disabled"/> when the listener does not trace.</summary>
    public static RequestSpan Start(TracingConfig? config, HttpRequest request, TrafficDirection direction)
    {
        if (config is null) return RequestSpan.Disabled;
        var parent = Extract(request.Headers);
        var sampled = parent.Sampled ?? (config.SamplePercent >= 100 || (config.SamplePercent > 0 && Random.Shared.NextDouble() * 100 < config.SamplePercent));
        Activity? activity = null;
        if (sampled && Source.HasListeners())
        {
            var kind = direction == TrafficDirection.Inbound ? ActivityKind.Server : ActivityKind.Client;
            if (parent.TraceId is { } remoteTrace && parent.SpanId is { } remoteSpan)
            {
                activity = Source.StartActivity(request.Method, kind,
                    new ActivityContext(remoteTrace, remoteSpan, ActivityTraceFlags.Recorded, parent.TraceState, isRemote: true));
            }
            else
            {
                // A new trace: nothing else running on this request may become its parent.
                if (Activity.Current is not null) Activity.Current = null;
                activity = Source.StartActivity(request.Method, kind);
            }

            if (activity is not null)
            {
                // What goes upstream is what this hop recorded: a ratio sampler in the process may have declined a
                // new trace, and then no hop after this one records it either.
                sampled = activity.Recorded;
                if (activity.IsAllDataRequested)
                {
                    if (config.ServiceName is { } service) activity.SetTag("service.name", service);
                    activity.SetTag("http.request.method", request.Method);
                    activity.SetTag("url.path", request.Path.Value);
                    activity.SetTag("network.protocol.version", request.Protocol);
                    activity.SetTag("client.address", request.HttpContext.Connection.RemoteIpAddress?.ToString());
                }
            }
        }

        var traceId = activity?.TraceId ?? parent.TraceId ?? ActivityTraceId.CreateRandom();
        var spanId = activity?.SpanId ?? ActivitySpanId.CreateRandom();
        return new RequestSpan(activity, traceId, spanId, parent.SpanId, sampled, parent.TraceState);
    }

    /// <summary>
    /// The service in a SPIFFE service identity (<c>spiffe://&lt;trust domain&gt;/ns/&lt;ns&gt;/dc/&lt;dc&gt;/svc/&lt;service&gt;</c>),
    /// or null for anything else: the peer a span names in <c>peer.service</c>.
    /// </summary>
    public static string? ServiceOf(string? spiffeId)
    {
        if (spiffeId is null || !spiffeId.StartsWith("spiffe://", StringComparison.Ordinal)) return null;
        var at = spiffeId.LastIndexOf("/svc/", StringComparison.Ordinal);
        if (at < 0) return null;
        var service = spiffeId[(at + 5)..];
        return service.Length == 0 || service.Contains('/', StringComparison.Ordinal) ? null : service;
    }

    /// <summary>Whether <paramref name="name"/> is a trace propagation header this proxy rewrites.</summary>
    public static bool IsTraceHeader(string name) =>
        name.Equals("traceparent", StringComparison.OrdinalIgnoreCase)
        || name.Equals("tracestate", StringComparison.OrdinalIgnoreCase)
        || Array.Exists(B3Headers, h => h.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The incoming trace context: W3C first, then B3 single, then B3 multi. Malformed headers are ignored.</summary>
    public static IncomingContext Extract(IHeaderDictionary headers)
    {
        var traceState = First(headers, "tracestate");
        if (First(headers, "traceparent") is { } traceparent && TryParseTraceparent(traceparent, out var w3cTrace, out var w3cSpan, out var w3cSampled))
        {
            return new IncomingContext(w3cTrace, w3cSpan, w3cSampled, traceState);
        }

        if (First(headers, "b3") is { } b3 && TryParseB3Single(b3, out var single))
        {
            return single;
        }

        var b3Sampled = ParseB3Sampled(First(headers, "x-b3-sampled"), First(headers, "x-b3-flags"));
        if (First(headers, "x-b3-traceid") is { } traceHex && First(headers, "x-b3-spanid") is { } spanHex
            && TryParseTraceId(traceHex, out var b3Trace) && TryParseSpanId(spanHex, out var b3Span))
        {
            return new IncomingContext(b3Trace, b3Span, b3Sampled, null);
        }

        return new IncomingContext(null, null, b3Sampled, null);
    }

    /// <summary>Parses <c>version-traceid-spanid-flags</c>; version ff and all-zero ids are invalid.</summary>
    public static bool TryParseTraceparent(string value, out ActivityTraceId traceId, out ActivitySpanId spanId, out bool sampled)
    {
        traceId = default;
        spanId = default;
        sampled = false;
        var span = value.AsSpan().Trim();
        if (span.Length < 55 || span[2] != '-' || span[35] != '-' || span[52] != '-') return false;
        if (span[..2].Equals("ff", StringComparison.OrdinalIgnoreCase) || !IsHex(span[..2])) return false;
        if (span.Length > 55 && span[55] != '-') return false;
        if (!TryParseTraceId(span.Slice(3, 32).ToString(), out traceId) || !TryParseSpanId(span.Slice(36, 16).ToString(), out spanId)) return false;
        if (!IsHex(span.Slice(53, 2))) return false;
        sampled = (Convert.ToByte(span.Slice(53, 2).ToString(), 16) & 1) == 1;
        return true;
    }

    private static bool TryParseB3Single(string value, out IncomingContext context)
    {
        context = default;
        var parts = value.Trim().Split('-');
        if (parts.Length == 1)
        {
            // A lone sampling decision: "0", "1" or "d" (debug).
            var decision = ParseB3Sampled(parts[0], null);
            if (decision is null) return false;
            context = new IncomingContext(null, null, decision, null);
            return true;
        }

        if (!TryParseTraceId(parts[0], out var traceId) || !TryParseSpanId(parts[1], out var spanId)) return false;
        var sampled = parts.Length > 2 ? ParseB3Sampled(parts[2], null) : null;
        context = new IncomingContext(traceId, spanId, sampled, null);
        return true;
    }

    private static bool? ParseB3Sampled(string? sampled, string? flags)
    {
        if (flags == "1") return true;
        return sampled switch
        {
            "1" or "true" or "d" => true,
            "0" or "false" => false,
            _ => null,
        };
    }

    /// <summary>A 32- or 16-hex-digit trace id (B3 allows 64-bit ids, padded on the left as Zipkin does).</summary>
    private static bool TryParseTraceId(string hex, out ActivityTraceId traceId)
    {
        traceId = default;
        if (hex.Length == 16) hex = "0000000000000000" + hex;
        if (hex.Length != 32 || !IsHex(hex) || IsZero(hex)) return false;
        traceId = ActivityTraceId.CreateFromString(hex.ToLowerInvariant());
        return true;
    }

    private static bool TryParseSpanId(string hex, out ActivitySpanId spanId)
    {
        spanId = default;
        if (hex.Length != 16 || !IsHex(hex) || IsZero(hex)) return false;
        spanId = ActivitySpanId.CreateFromString(hex.ToLowerInvariant());
        return true;
    }

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c)) return false;
        }

        return true;
    }

    private static bool IsZero(string hex)
    {
        foreach (var c in hex)
        {
            if (c != '0') return false;
        }

        return true;
    }

    private static string? First(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out StringValues values) && values.Count > 0 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    /// <summary>What arrived with the request.</summary>
    internal readonly record struct IncomingContext(ActivityTraceId? TraceId, ActivitySpanId? SpanId, bool? Sampled, string? TraceState);
}

/// <summary>One hop's span: its ids, the sampling decision, and the <see cref="Activity"/> when someone listens.</summary>
internal sealed class RequestSpan
{
    /// <summary>The listener does not trace: headers pass through untouched.</summary>
    public static readonly RequestSpan Disabled = new(null, default, default, null, false, null);

    public RequestSpan(Activity? activity, ActivityTraceId traceId, ActivitySpanId spanId, ActivitySpanId? parentSpanId, bool sampled, string? traceState)
    {
        Activity = activity;
        TraceId = traceId;
        SpanId = spanId;
        ParentSpanId = parentSpanId;
        Sampled = sampled;
        TraceState = traceState;
    }

    /// <summary>The span object, when a listener is attached.</summary>
    public Activity? Activity { get; }

    /// <summary>The trace this hop belongs to.</summary>
    public ActivityTraceId TraceId { get; }

    /// <summary>This hop's span id, the parent of the upstream's span.</summary>
    public ActivitySpanId SpanId { get; }

    /// <summary>The downstream's span id, when one arrived.</summary>
    public ActivitySpanId? ParentSpanId { get; }

    /// <summary>The sampling decision passed upstream.</summary>
    public bool Sampled { get; }

    /// <summary>The W3C tracestate passed through.</summary>
    public string? TraceState { get; }

    /// <summary>Whether the listener traces at all.</summary>
    public bool Enabled => !ReferenceEquals(this, Disabled);

    /// <summary>The trace id for the access log; null when not tracing.</summary>
    public string? TraceIdText => Enabled ? TraceId.ToHexString() : null;

    /// <summary>Replaces the request's trace headers with this hop's context in W3C and B3 multi-header form.</summary>
    public void Inject(HttpRequestMessage message)
    {
        if (!Enabled) return;
        var headers = message.Headers;
        headers.Remove("traceparent");
        headers.Remove("tracestate");
        headers.Remove("b3");
        headers.Remove("X-B3-TraceId");
        headers.Remove("X-B3-SpanId");
        headers.Remove("X-B3-ParentSpanId");
        headers.Remove("X-B3-Sampled");
        headers.Remove("X-B3-Flags");
        var trace = TraceId.ToHexString();
        var span = SpanId.ToHexString();
        headers.TryAddWithoutValidation("traceparent", string.Concat("00-", trace, "-", span, Sampled ? "-01" : "-00"));
        if (TraceState is not null) headers.TryAddWithoutValidation("tracestate", TraceState);
        headers.TryAddWithoutValidation("X-B3-TraceId", trace);
        headers.TryAddWithoutValidation("X-B3-SpanId", span);
        if (ParentSpanId is { } parent) headers.TryAddWithoutValidation("X-B3-ParentSpanId", parent.ToHexString());
        headers.TryAddWithoutValidation("X-B3-Sampled", Sampled ? "1" : "0");
    }

    /// <summary>
    /// Names the other side of the hop (<c>peer.service</c>): the caller's service on an inbound span, the upstream
    /// service on an outbound one. Zipkin shows it as the span's remote endpoint.
    /// </summary>
    public void SetPeerService(string? service)
    {
        if (service is not null && Activity is { IsAllDataRequested: true } activity) activity.SetTag("peer.service", service);
    }

    /// <summary>
    /// Ends the span with the outcome: the status code (0 when the downstream went away first), the cluster, the
    /// upstream endpoint and Envoy-style response flags. A 5xx, or no answer at all, marks the span as an error.
    /// </summary>
    public void Complete(int status, string? cluster, string? upstreamHost, string? flags)
    {
        var activity = Activity;
        if (activity is null) return;
        if (activity.IsAllDataRequested)
        {
            if (status > 0) activity.SetTag("http.response.status_code", status);
            if (cluster is not null) activity.SetTag("mesh.upstream.cluster", cluster);
            if (upstreamHost is not null) activity.SetTag("server.address", upstreamHost);
            if (flags is not null) activity.SetTag("mesh.response_flags", flags);
            if (status >= 500 || status == 0)
            {
                activity.SetTag("error.type", status == 0 ? flags ?? "aborted" : status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                activity.SetStatus(ActivityStatusCode.Error, flags);
            }
        }

        activity.Stop();
    }
}
