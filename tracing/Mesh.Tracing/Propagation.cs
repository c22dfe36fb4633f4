using System.Diagnostics;

namespace Mesh.Tracing;

/// <summary>The header formats a trace context travels in.</summary>
[Flags]
public enum PropagationFormats
{
    /// <summary>No headers.</summary>
    None = 0,

    /// <summary>W3C Trace Context: <c>traceparent</c> and <c>tracestate</c>.</summary>
    W3C = 1,

    /// <summary>B3 in one header: <c>b3: {traceid}-{spanid}-{sampled}-{parentspanid}</c>.</summary>
    B3Single = 2,

    /// <summary>B3 in several headers: <c>X-B3-TraceId</c>, <c>X-B3-SpanId</c>, <c>X-B3-ParentSpanId</c>, <c>X-B3-Sampled</c>, <c>X-B3-Flags</c>.</summary>
    B3Multi = 4,

    /// <summary>What Mesh's sidecar sends upstream: W3C and B3 multi-header, so both Envoy-style and Zipkin-style applications stay on the trace.</summary>
    Default = W3C | B3Multi,

    /// <summary>Every format.</summary>
    All = W3C | B3Single | B3Multi,
}

/// <summary>
/// A trace context read from request headers. <see cref="TraceId"/> and <see cref="SpanId"/> are both set or both
/// null; B3 may carry only a sampling decision (<c>b3: 0</c>, or <c>X-B3-Sampled</c> alone).
/// </summary>
/// <param name="TraceId">The trace.</param>
/// <param name="SpanId">The caller's span: the parent of the span the receiver starts.</param>
/// <param name="Sampled">The caller's sampling decision; null when it made none (the receiver decides).</param>
/// <param name="TraceState">W3C <c>tracestate</c>, when it came with a valid <c>traceparent</c>.</param>
/// <param name="ParentSpanId">B3's parent of <see cref="SpanId"/>, when sent.</param>
/// <param name="Debug">B3's debug flag (<c>d</c>, or <c>X-B3-Flags: 1</c>), which also means sampled.</param>
/// <param name="Format">The format it was read from.</param>
public readonly record struct PropagatedContext(
    ActivityTraceId? TraceId,
    ActivitySpanId? SpanId,
    bool? Sampled,
    string? TraceState,
    ActivitySpanId? ParentSpanId,
    bool Debug,
    PropagationFormats Format)
{
    /// <summary>Whether the context names a trace and a parent span (not only a sampling decision).</summary>
    public bool HasIds => TraceId is not null && SpanId is not null;

    /// <summary>
    /// The remote parent to start a span under with <see cref="ActivitySource"/>'s <c>StartActivity(name, kind, parentContext)</c>;
    /// false when the context carries no ids.
    /// </summary>
    public bool TryGetActivityContext(out ActivityContext context)
    {
        if (TraceId is not { } traceId || SpanId is not { } spanId)
        {
            context = default;
            return false;
        }

        var flags = Sampled == true ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None;
        context = new ActivityContext(traceId, spanId, flags, TraceState, isRemote: true);
        return true;
    }
}

/// <summary>
/// W3C Trace Context and B3 (single and multi header) over any header collection, for applications that forward
/// requests and want to stay on one trace: <see cref="Extract{TCarrier}"/> on the way in, <c>Inject</c> on the way out.
/// Malformed headers are ignored, never thrown on: a bad header must not fail the request it came with.
/// </summary>
public static class Propagation
{
    /// <summary>Every header name this class reads or writes, lower case, for proxies that replace them.</summary>
    public static readonly IReadOnlyList<string> HeaderNames =
        ["traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"];

    // W3C allows at most 32 list members in tracestate; a longer one is dropped rather than half-kept.
    private const int MaxTraceStateMembers = 32;

    /// <summary>
    /// Reads the incoming trace context: a valid W3C <c>traceparent</c> first, then the <c>b3</c> header, then the
    /// <c>X-B3-*</c> headers; null when none is usable.
    /// </summary>
    /// <param name="carrier">The headers.</param>
    /// <param name="getter">Returns one header's value (several values joined by commas), or null when absent; names
    /// are passed in lower case and should be matched case-insensitively.</param>
    public static PropagatedContext? Extract<TCarrier>(TCarrier carrier, Func<TCarrier, string, string?> getter)
    {
        ArgumentNullException.ThrowIfNull(getter);
        if (TryParseTraceparent(getter(carrier, "traceparent"), out var traceId, out var spanId, out var sampled))
        {
            return new PropagatedContext(traceId, spanId, sampled, ValidTraceState(getter(carrier, "tracestate")), null, false, PropagationFormats.W3C);
        }

        if (TryParseB3Single(getter(carrier, "b3"), out var single)) return single;
        return ExtractB3Multi(carrier, getter);
    }

    /// <summary>
    /// Parses <c>traceparent</c>: <c>{version}-{32 hex trace id}-{16 hex span id}-{2 hex flags}</c> in lower case.
    /// Version <c>ff</c>, all-zero ids, and version 00 with anything after the flags are invalid; a later version may
    /// append fields after a dash, which are ignored.
    /// </summary>
    public static bool TryParseTraceparent(string? value, out ActivityTraceId traceId, out ActivitySpanId spanId, out bool sampled)
    {
        traceId = default;
        spanId = default;
        sampled = false;
        if (value is null) return false;
        var text = value.AsSpan().Trim();
        if (text.Length < 55 || text[2] != '-' || text[35] != '-' || text[52] != '-') return false;
        var version = text[..2];
        if (!IsLowerHex(version) || version is "ff") return false;
        if ((version is "00") ? text.Length != 55 : text.Length > 55 && text[55] != '-') return false;
        var traceHex = text.Slice(3, 32);
        var spanHex = text.Slice(36, 16);
        var flagsHex = text.Slice(53, 2);
        if (!IsLowerHex(traceHex) || !IsLowerHex(spanHex) || !IsLowerHex(flagsHex) || IsZero(traceHex) || IsZero(spanHex)) return false;
        traceId = ActivityTraceId.CreateFromString(traceHex);
        spanId = ActivitySpanId.CreateFromString(spanHex);
        sampled = (Convert.ToByte(flagsHex.ToString(), 16) & 1) == 1;
        return true;
    }

    /// <summary>
    /// Parses the single <c>b3</c> header: <c>{traceid}-{spanid}</c>, optionally <c>-{0|1|d}</c> and then
    /// <c>-{parentspanid}</c>; or only a decision, <c>0</c>, <c>1</c> or <c>d</c>. 64-bit trace ids are widened to
    /// 128 bits with leading zeros, as Zipkin does.
    /// </summary>
    public static bool TryParseB3Single(string? value, out PropagatedContext context)
    {
        context = default;
        if (value is null) return false;
        var parts = value.Trim().Split('-');
        if (parts.Length == 1)
        {
            if (!TryParseB3Decision(parts[0], out var decision, out var debug)) return false;
            context = new PropagatedContext(null, null, decision, null, null, debug, PropagationFormats.B3Single);
            return true;
        }

        if (parts.Length > 4 || !TryParseB3TraceId(parts[0], out var traceId) || !TryParseB3SpanId(parts[1], out var spanId)) return false;
        bool? sampled = null;
        var isDebug = false;
        if (parts.Length >= 3)
        {
            if (!TryParseB3Decision(parts[2], out var decision, out isDebug)) return false;
            sampled = decision;
        }

        ActivitySpanId? parent = null;
        if (parts.Length == 4)
        {
            if (!TryParseB3SpanId(parts[3], out var parentId)) return false;
            parent = parentId;
        }

        context = new PropagatedContext(traceId, spanId, sampled, null, parent, isDebug, PropagationFormats.B3Single);
        return true;
    }

    /// <summary>
    /// Writes <paramref name="activity"/>'s context (its trace, its span as the callee's parent, its sampling flag,
    /// its tracestate, and its own parent for B3) in <paramref name="formats"/>.
    /// </summary>
    /// <param name="activity">The caller's span.</param>
    /// <param name="carrier">The outgoing headers.</param>
    /// <param name="setter">Sets one header, replacing any value it had.</param>
    /// <param name="formats">The formats to write.</param>
    public static void Inject<TCarrier>(Activity activity, TCarrier carrier, Action<TCarrier, string, string> setter,
        PropagationFormats formats = PropagationFormats.Default)
    {
        ArgumentNullException.ThrowIfNull(activity);
        Inject(activity.Context, carrier, setter, formats, activity.ParentSpanId == default ? null : activity.ParentSpanId);
    }

    /// <summary>Writes <paramref name="context"/> in <paramref name="formats"/>; nothing when the context is invalid (default ids).</summary>
    /// <param name="context">The trace, the span the callee's span is a child of, the sampling flag, the tracestate.</param>
    /// <param name="carrier">The outgoing headers.</param>
    /// <param name="setter">Sets one header, replacing any value it had.</param>
    /// <param name="formats">The formats to write.</param>
    /// <param name="parentSpanId">The parent of <paramref name="context"/>'s span, sent only in B3.</param>
    public static void Inject<TCarrier>(ActivityContext context, TCarrier carrier, Action<TCarrier, string, string> setter,
        PropagationFormats formats = PropagationFormats.Default, ActivitySpanId? parentSpanId = null)
    {
        ArgumentNullException.ThrowIfNull(setter);
        if (context.TraceId == default || context.SpanId == default) return;
        var trace = context.TraceId.ToHexString();
        var span = context.SpanId.ToHexString();
        var sampled = (context.TraceFlags & ActivityTraceFlags.Recorded) != 0;
        var parent = parentSpanId is { } p && p != default ? p.ToHexString() : null;
        if (formats.HasFlag(PropagationFormats.W3C))
        {
            setter(carrier, "traceparent", FormatTraceparent(context));
            if (!string.IsNullOrEmpty(context.TraceState)) setter(carrier, "tracestate", context.TraceState);
        }

        if (formats.HasFlag(PropagationFormats.B3Single))
        {
            setter(carrier, "b3", parent is null
                ? string.Concat(trace, "-", span, sampled ? "-1" : "-0")
                : string.Concat(trace, "-", span, sampled ? "-1-" : "-0-", parent));
        }

        if (formats.HasFlag(PropagationFormats.B3Multi))
        {
            setter(carrier, "X-B3-TraceId", trace);
            setter(carrier, "X-B3-SpanId", span);
            if (parent is not null) setter(carrier, "X-B3-ParentSpanId", parent);
            setter(carrier, "X-B3-Sampled", sampled ? "1" : "0");
        }
    }

    /// <summary>The version-00 <c>traceparent</c> for <paramref name="context"/>.</summary>
    public static string FormatTraceparent(ActivityContext context) =>
        string.Concat("00-", context.TraceId.ToHexString(), "-", context.SpanId.ToHexString(),
            (context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "-01" : "-00");

    private static PropagatedContext? ExtractB3Multi<TCarrier>(TCarrier carrier, Func<TCarrier, string, string?> getter)
    {
        var debug = getter(carrier, "x-b3-flags")?.Trim() == "1";
        bool? sampled = debug ? true : ParseB3SampledHeader(getter(carrier, "x-b3-sampled"));
        if (TryParseB3TraceId(getter(carrier, "x-b3-traceid"), out var traceId) && TryParseB3SpanId(getter(carrier, "x-b3-spanid"), out var spanId))
        {
            var parentHeader = getter(carrier, "x-b3-parentspanid");
            ActivitySpanId? parent = TryParseB3SpanId(parentHeader, out var parentId) ? parentId : null;
            return new PropagatedContext(traceId, spanId, sampled, null, parent, debug, PropagationFormats.B3Multi);
        }

        // Ids that are missing or malformed leave only the decision, if one was sent.
        return sampled is null ? null : new PropagatedContext(null, null, sampled, null, null, debug, PropagationFormats.B3Multi);
    }

    private static bool TryParseB3Decision(string text, out bool sampled, out bool debug)
    {
        (sampled, debug) = (false, false);
        switch (text)
        {
            case "1":
                sampled = true;
                return true;
            case "0":
                return true;
            case "d":
                (sampled, debug) = (true, true);
                return true;
            default:
                return false;
        }
    }

    /// <summary><c>X-B3-Sampled</c>: <c>1</c>/<c>0</c>, and the <c>true</c>/<c>false</c> older tracers sent.</summary>
    private static bool? ParseB3SampledHeader(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "1" or "true" => true,
        "0" or "false" => false,
        _ => null,
    };

    private static bool TryParseB3TraceId(string? value, out ActivityTraceId traceId)
    {
        traceId = default;
        var text = value?.Trim();
        if (text is null || (text.Length != 16 && text.Length != 32) || !IsHex(text) || IsZero(text)) return false;
        traceId = ActivityTraceId.CreateFromString((text.Length == 16 ? "0000000000000000" + text : text).ToLowerInvariant());
        return true;
    }

    private static bool TryParseB3SpanId(string? value, out ActivitySpanId spanId)
    {
        spanId = default;
        var text = value?.Trim();
        if (text is null || text.Length != 16 || !IsHex(text) || IsZero(text)) return false;
        spanId = ActivitySpanId.CreateFromString(text.ToLowerInvariant());
        return true;
    }

    /// <summary>
    /// <c>tracestate</c> as received when it is a plausible list (non-empty <c>key=value</c> members, at most 32);
    /// otherwise null. W3C: an invalid tracestate is dropped while the traceparent is kept.
    /// </summary>
    private static string? ValidTraceState(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var members = 0;
        foreach (var member in value.Split(','))
        {
            var trimmed = member.AsSpan().Trim();
            if (trimmed.IsEmpty) continue;
            var equals = trimmed.IndexOf('=');
            if (equals <= 0 || equals == trimmed.Length - 1 || ++members > MaxTraceStateMembers) return null;
        }

        return members == 0 ? null : value.Trim();
    }

    private static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f')) return false;
        }

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

    private static bool IsZero(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c != '0') return false;
        }

        return true;
    }
}
