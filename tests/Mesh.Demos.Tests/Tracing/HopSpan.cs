using Mesh.Tracing.Tests.Receivers;

namespace Mesh.Demos.Tests.Tracing;

/// <summary>A span as either collector received it, in the terms the trace assertions need.</summary>
internal sealed record HopSpan(string TraceId, string SpanId, string? ParentId, string? Service, string? Kind, string Name, IReadOnlyDictionary<string, string> Tags)
{
    public static HopSpan From(OtlpSpan span) => new(span.TraceId, span.SpanId, span.ParentSpanId, span.ServiceName, span.Kind switch
    {
        OtlpDecoder.KindServer => "SERVER",
        OtlpDecoder.KindClient => "CLIENT",
        _ => null,
    }, span.Name, span.Attributes);

    public static HopSpan From(ZipkinSpan span) => new(span.TraceId, span.Id, span.ParentId, span.LocalServiceName, span.Kind, span.Name, span.Tags);

    public override string ToString() => $"{Service} {Kind} {Name} trace {TraceId} span {SpanId} parent {ParentId ?? "-"}";
}

/// <summary>The four spans of one dashboard poll, from the dashboard's call to counting's answer.</summary>
internal sealed record DashboardTrace(HopSpan Dashboard, HopSpan DashboardSidecar, HopSpan CountingSidecar, HopSpan Counting)
{
    /// <summary>
    /// The first trace in <paramref name="spans"/> in which a root client span of <c>dashboard</c> has a client child
    /// from <c>dashboard-sidecar-proxy</c>, which has a server child from <c>counting-sidecar-proxy</c>, which has a
    /// server child from <c>counting</c>; null when no trace is complete yet.
    /// </summary>
    public static DashboardTrace? Find(IEnumerable<HopSpan> spans)
    {
        var all = spans.ToList();
        HopSpan? ChildOf(HopSpan parent, string service, string kind) =>
            all.FirstOrDefault(s => s.TraceId == parent.TraceId && s.ParentId == parent.SpanId && s.Service == service && s.Kind == kind);

        foreach (var root in all.Where(s => s.Service == "dashboard" && s.Kind == "CLIENT" && s.ParentId is null))
        {
            if (ChildOf(root, "dashboard-sidecar-proxy", "CLIENT") is { } outbound
                && ChildOf(outbound, "counting-sidecar-proxy", "SERVER") is { } inbound
                && ChildOf(inbound, "counting", "SERVER") is { } counting)
            {
                return new DashboardTrace(root, outbound, inbound, counting);
            }
        }

        return null;
    }
}
