using System.Diagnostics;

namespace Mesh.Tracing.Tests;

public class PropagationTests
{
    private const string Trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string Span = "00f067aa0ba902b7";
    private const string Parent = "a2fb4a1d1a96d312";

    private static readonly ActivityContext Sampled = new(
        ActivityTraceId.CreateFromString(Trace), ActivitySpanId.CreateFromString(Span), ActivityTraceFlags.Recorded, "vendor=abc,other=1");

    /// <summary>Headers as most HTTP stacks hold them: names case-insensitive, set replaces.</summary>
    private static Dictionary<string, string> Headers(params (string Name, string Value)[] headers)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers) map[name] = value;
        return map;
    }

    private static string? Get(Dictionary<string, string> headers, string name) => headers.GetValueOrDefault(name);

    private static void Set(Dictionary<string, string> headers, string name, string value) => headers[name] = value;

    [Fact]
    public void Inject_W3C_TraceparentAndTracestate()
    {
        var headers = Headers();

        Propagation.Inject(Sampled, headers, Set, PropagationFormats.W3C);

        Assert.Equal($"00-{Trace}-{Span}-01", headers["traceparent"]);
        Assert.Equal("vendor=abc,other=1", headers["tracestate"]);
        Assert.Equal(2, headers.Count);
    }

    [Fact]
    public void InjectThenExtract_W3C_RoundTrip()
    {
        var headers = Headers();
        Propagation.Inject(Sampled, headers, Set, PropagationFormats.W3C);

        var context = Propagation.Extract(headers, Get);

        Assert.NotNull(context);
        Assert.Equal(PropagationFormats.W3C, context.Value.Format);
        Assert.True(context.Value.TryGetActivityContext(out var activityContext));
        Assert.Equal(Sampled.TraceId, activityContext.TraceId);
        Assert.Equal(Sampled.SpanId, activityContext.SpanId);
        Assert.Equal(ActivityTraceFlags.Recorded, activityContext.TraceFlags);
        Assert.Equal("vendor=abc,other=1", activityContext.TraceState);
        Assert.True(activityContext.IsRemote);
    }

    [Fact]
    public void InjectThenExtract_W3CUnsampled_DecisionKept()
    {
        var headers = Headers();
        Propagation.Inject(new ActivityContext(Sampled.TraceId, Sampled.SpanId, ActivityTraceFlags.None), headers, Set, PropagationFormats.W3C);

        var context = Propagation.Extract(headers, Get);

        Assert.Equal($"00-{Trace}-{Span}-00", headers["traceparent"]);
        Assert.False(context!.Value.Sampled);
        Assert.False(headers.ContainsKey("tracestate"));
    }

    [Fact]
    public void InjectThenExtract_B3Single_RoundTripWithParent()
    {
        var headers = Headers();
        Propagation.Inject(Sampled, headers, Set, PropagationFormats.B3Single, ActivitySpanId.CreateFromString(Parent));

        var context = Propagation.Extract(headers, Get)!.Value;

        Assert.Equal($"{Trace}-{Span}-1-{Parent}", headers["b3"]);
        Assert.Single(headers);
        Assert.Equal(PropagationFormats.B3Single, context.Format);
        Assert.Equal(Trace, context.TraceId!.Value.ToHexString());
        Assert.Equal(Span, context.SpanId!.Value.ToHexString());
        Assert.Equal(Parent, context.ParentSpanId!.Value.ToHexString());
        Assert.True(context.Sampled);
        Assert.False(context.Debug);
    }

    [Fact]
    public void InjectThenExtract_B3Multi_RoundTripWithParent()
    {
        var headers = Headers();
        Propagation.Inject(new ActivityContext(Sampled.TraceId, Sampled.SpanId, ActivityTraceFlags.None), headers, Set,
            PropagationFormats.B3Multi, ActivitySpanId.CreateFromString(Parent));

        var context = Propagation.Extract(headers, Get)!.Value;

        Assert.Equal(Trace, headers["X-B3-TraceId"]);
        Assert.Equal(Span, headers["X-B3-SpanId"]);
        Assert.Equal(Parent, headers["X-B3-ParentSpanId"]);
        Assert.Equal("0", headers["X-B3-Sampled"]);
        Assert.Equal(PropagationFormats.B3Multi, context.Format);
        Assert.Equal(Sampled.TraceId, context.TraceId);
        Assert.Equal(Sampled.SpanId, context.SpanId);
        Assert.Equal(Parent, context.ParentSpanId!.Value.ToHexString());
        Assert.False(context.Sampled);
    }

    [Fact]
    public void Inject_Activity_ItsOwnSpanIsTheParentAndItsParentGoesInB3()
    {
        using var activity = new Activity("call");
        activity.SetParentId(ActivityTraceId.CreateFromString(Trace), ActivitySpanId.CreateFromString(Parent), ActivityTraceFlags.Recorded);
        activity.Start();
        var headers = Headers();

        Propagation.Inject(activity, headers, Set, PropagationFormats.All);

        Assert.Equal($"00-{Trace}-{activity.SpanId.ToHexString()}-01", headers["traceparent"]);
        Assert.Equal($"{Trace}-{activity.SpanId.ToHexString()}-1-{Parent}", headers["b3"]);
        Assert.Equal(Parent, headers["X-B3-ParentSpanId"]);
        Assert.Equal("1", headers["X-B3-Sampled"]);
    }

    [Fact]
    public void Inject_DefaultFormats_W3CAndB3Multi()
    {
        var headers = Headers();

        Propagation.Inject(Sampled, headers, Set);

        Assert.True(headers.ContainsKey("traceparent"));
        Assert.True(headers.ContainsKey("X-B3-TraceId"));
        Assert.False(headers.ContainsKey("b3"));
        Assert.False(headers.ContainsKey("X-B3-ParentSpanId"));
    }

    [Fact]
    public void Inject_InvalidContext_WritesNothing()
    {
        var headers = Headers();

        Propagation.Inject(default(ActivityContext), headers, Set, PropagationFormats.All);

        Assert.Empty(headers);
    }

    [Fact]
    public void Extract_B3SixtyFourBitTraceId_WidenedWithZeros()
    {
        var context = Propagation.Extract(Headers(("b3", $"a3ce929d0e0e4736-{Span}-1")), Get)!.Value;

        Assert.Equal("0000000000000000a3ce929d0e0e4736", context.TraceId!.Value.ToHexString());
    }

    [Fact]
    public void Extract_B3MultiUpperCaseAnd64Bit_Accepted()
    {
        var context = Propagation.Extract(Headers(("X-B3-TraceId", "A3CE929D0E0E4736"), ("X-B3-SpanId", Span.ToUpperInvariant()), ("X-B3-Sampled", "true")), Get)!.Value;

        Assert.Equal("0000000000000000a3ce929d0e0e4736", context.TraceId!.Value.ToHexString());
        Assert.Equal(Span, context.SpanId!.Value.ToHexString());
        Assert.True(context.Sampled);
    }

    [Theory]
    [InlineData("d")]
    [InlineData("x-b3-flags")]
    public void Extract_B3Debug_SampledAndDebug(string how)
    {
        var headers = how == "d"
            ? Headers(("b3", $"{Trace}-{Span}-d"))
            : Headers(("X-B3-TraceId", Trace), ("X-B3-SpanId", Span), ("X-B3-Flags", "1"), ("X-B3-Sampled", "0"));

        var context = Propagation.Extract(headers, Get)!.Value;

        Assert.True(context.Debug);
        Assert.True(context.Sampled);
        Assert.True(context.HasIds);
    }

    [Theory]
    [InlineData("0", false)]
    [InlineData("1", true)]
    public void Extract_B3DecisionOnly_NoIds(string value, bool sampled)
    {
        var context = Propagation.Extract(Headers(("b3", value)), Get)!.Value;

        Assert.False(context.HasIds);
        Assert.Equal(sampled, context.Sampled);
        Assert.False(context.TryGetActivityContext(out _));
    }

    [Fact]
    public void Extract_B3MultiSampledWithoutIds_DecisionOnly()
    {
        var context = Propagation.Extract(Headers(("X-B3-Sampled", "0"), ("X-B3-TraceId", "nothex")), Get)!.Value;

        Assert.False(context.HasIds);
        Assert.False(context.Sampled);
    }

    [Fact]
    public void Extract_W3CAndB3_W3CWins()
    {
        var context = Propagation.Extract(Headers(
            ("traceparent", $"00-{Trace}-{Span}-01"),
            ("b3", $"{Parent}{Parent}-{Parent}-0")), Get)!.Value;

        Assert.Equal(PropagationFormats.W3C, context.Format);
        Assert.Equal(Span, context.SpanId!.Value.ToHexString());
    }

    [Fact]
    public void Extract_MalformedTraceparent_FallsBackToB3()
    {
        var context = Propagation.Extract(Headers(
            ("traceparent", $"00-{Trace}-{Span}"),
            ("tracestate", "vendor=1"),
            ("X-B3-TraceId", Trace), ("X-B3-SpanId", Parent)), Get)!.Value;

        Assert.Equal(PropagationFormats.B3Multi, context.Format);
        Assert.Equal(Parent, context.SpanId!.Value.ToHexString());
        Assert.Null(context.TraceState);
    }

    [Theory]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")] // upper case
    [InlineData("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")] // forbidden version
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01")] // zero trace id
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")] // zero span id
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")] // version 00 is exactly 55 characters
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01")] // dash in the wrong place
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g")] // flags not hex
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7")] // no flags
    [InlineData("0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")] // version not hex
    [InlineData("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x")] // a later version continues after a dash only
    [InlineData("")]
    public void TryParseTraceparent_Malformed_RejectedAndNothingExtracted(string value)
    {
        Assert.False(Propagation.TryParseTraceparent(value, out _, out _, out _));
        Assert.Null(Propagation.Extract(Headers(("traceparent", value)), Get));
    }

    [Fact]
    public void TryParseTraceparent_LaterVersionWithMoreFields_Accepted()
    {
        Assert.True(Propagation.TryParseTraceparent($"cc-{Trace}-{Span}-01-what-the-future-holds", out var trace, out var span, out var sampled));
        Assert.Equal(Trace, trace.ToHexString());
        Assert.Equal(Span, span.ToHexString());
        Assert.True(sampled);
    }

    [Fact]
    public void TryParseTraceparent_SurroundingWhitespace_Accepted()
    {
        Assert.True(Propagation.TryParseTraceparent($"  00-{Trace}-{Span}-03 ", out _, out _, out var sampled));
        Assert.True(sampled);
    }

    [Theory]
    [InlineData("nothex-00f067aa0ba902b7-1")]
    [InlineData("4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-a2fb4a1d1a96d312-extra")]
    [InlineData("4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-x")]
    [InlineData("4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902-1")]
    [InlineData("4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-1")]
    [InlineData("4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1-short")]
    [InlineData("4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7")]
    [InlineData("true")]
    public void TryParseB3Single_Malformed_RejectedAndNothingExtracted(string value)
    {
        Assert.False(Propagation.TryParseB3Single(value, out _));
        Assert.Null(Propagation.Extract(Headers(("b3", value)), Get));
    }

    [Theory]
    [InlineData("vendor=")]
    [InlineData("=value")]
    [InlineData("novalue")]
    public void Extract_InvalidTracestate_DroppedTraceparentKept(string tracestate)
    {
        var context = Propagation.Extract(Headers(("traceparent", $"00-{Trace}-{Span}-01"), ("tracestate", tracestate)), Get)!.Value;

        Assert.True(context.HasIds);
        Assert.Null(context.TraceState);
    }

    [Fact]
    public void Extract_TracestateOverThirtyTwoMembers_Dropped()
    {
        var tracestate = string.Join(",", Enumerable.Range(0, 33).Select(i => $"k{i}=v"));

        var context = Propagation.Extract(Headers(("traceparent", $"00-{Trace}-{Span}-01"), ("tracestate", tracestate)), Get)!.Value;

        Assert.Null(context.TraceState);
    }

    [Fact]
    public void Extract_NoHeaders_Null()
    {
        Assert.Null(Propagation.Extract(Headers(("content-type", "text/plain")), Get));
    }

    [Fact]
    public void ExtractThenStart_RemoteParent_ChildSpanJoinsTrace()
    {
        using var source = new ActivitySource("PropagationTests." + Guid.NewGuid().ToString("N"));
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        Assert.True(Propagation.Extract(Headers(("b3", $"{Trace}-{Span}-1")), Get)!.Value.TryGetActivityContext(out var parent));

        using var server = source.StartActivity("GET /", ActivityKind.Server, parent)!;

        Assert.Equal(Trace, server.TraceId.ToHexString());
        Assert.Equal(Span, server.ParentSpanId.ToHexString());
        Assert.True(server.HasRemoteParent);
    }

    [Fact]
    public void HeaderNames_CoverEveryHeaderWritten()
    {
        var headers = Headers();

        Propagation.Inject(Sampled, headers, Set, PropagationFormats.All, ActivitySpanId.CreateFromString(Parent));

        Assert.All(headers.Keys, name => Assert.Contains(name.ToLowerInvariant(), Propagation.HeaderNames));
    }
}
