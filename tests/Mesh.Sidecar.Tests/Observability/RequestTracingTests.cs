using System.Diagnostics;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Observability;

public class RequestTracingTests
{
    [Theory]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", true, true)]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", true, false)]
    [InlineData("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-extra", true, true)]
    [InlineData("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", false, false)]
    [InlineData("00-00000000000000000000000000000000-b7ad6b7169203331-01", false, false)]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", false, false)]
    [InlineData("00-0af7651916cd43dd8448eb211c80319x-b7ad6b7169203331-01", false, false)]
    [InlineData("garbage", false, false)]
    public void TryParseTraceparent_Inputs_ValidatedAsW3c(string value, bool valid, bool sampled)
    {
        Assert.Equal(valid, RequestTracing.TryParseTraceparent(value, out _, out _, out var parsedSampled));
        Assert.Equal(sampled, parsedSampled);
    }

    [Fact]
    public void Extract_B3SamplingOnly_DecisionWithoutIds()
    {
        var headers = new HeaderDictionary { ["b3"] = "0" };
        var context = RequestTracing.Extract(headers);
        Assert.Null(context.TraceId);
        Assert.False(context.Sampled);
    }

    [Fact]
    public void Extract_W3cAndB3Both_W3cWins()
    {
        var headers = new HeaderDictionary
        {
            ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ["X-B3-TraceId"] = "463ac35c9f6413ad463ac35c9f6413ad",
            ["X-B3-SpanId"] = "a2fb4a1d1a96d312",
        };
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", RequestTracing.Extract(headers).TraceId?.ToHexString());
    }

    [Fact]
    public void Extract_B3FlagsDebug_Sampled()
    {
        var headers = new HeaderDictionary { ["X-B3-TraceId"] = "463ac35c9f6413ad", ["X-B3-SpanId"] = "a2fb4a1d1a96d312", ["X-B3-Flags"] = "1" };
        Assert.True(RequestTracing.Extract(headers).Sampled);
    }

    [Fact]
    public void Start_NoIncomingContextFullSampling_NewSampledTrace()
    {
        var context = new DefaultHttpContext();
        var span = RequestTracing.Start(new TracingConfig(100, null), context.Request, TrafficDirection.Inbound);
        Assert.True(span.Enabled);
        Assert.True(span.Sampled);
        Assert.Null(span.ParentSpanId);
        var message = new HttpRequestMessage();
        span.Inject(message);
        Assert.Equal($"00-{span.TraceId.ToHexString()}-{span.SpanId.ToHexString()}-01", message.Headers.GetValues("traceparent").Single());
        Assert.False(message.Headers.Contains("X-B3-ParentSpanId"));
    }

    [Fact]
    public void Start_ZeroPercentNoDecision_NotSampled()
    {
        var context = new DefaultHttpContext();
        var span = RequestTracing.Start(new TracingConfig(0, null), context.Request, TrafficDirection.Outbound);
        Assert.False(span.Sampled);
        Assert.Null(span.Activity);
    }

    [Fact]
    public void Start_NoTracingConfig_DisabledAndInjectsNothing()
    {
        var span = RequestTracing.Start(null, new DefaultHttpContext().Request, TrafficDirection.Inbound);
        var message = new HttpRequestMessage();
        message.Headers.Add("traceparent", "keep");
        span.Inject(message);
        Assert.False(span.Enabled);
        Assert.Equal("keep", message.Headers.GetValues("traceparent").Single());
    }

    [Fact]
    public void Start_InboundWithListener_ServerSpan()
    {
        Activity? started = null;
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Mesh.Sidecar",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = a => started ??= a,
        };
        ActivitySource.AddActivityListener(listener);
        var context = new DefaultHttpContext();
        context.Request.Method = "PUT";
        context.Request.Headers["traceparent"] = "00-2af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        var span = RequestTracing.Start(new TracingConfig(0, "api"), context.Request, TrafficDirection.Inbound);
        span.Complete(503, "local_app", "127.0.0.1:8080", "UF");

        Assert.NotNull(span.Activity);
        Assert.Equal(ActivityKind.Server, span.Activity.Kind);
        Assert.Equal(ActivityStatusCode.Error, span.Activity.Status);
        Assert.Equal("api", span.Activity.GetTagItem("service.name"));
        Assert.Equal("2af7651916cd43dd8448eb211c80319c", span.TraceId.ToHexString());
    }
}
