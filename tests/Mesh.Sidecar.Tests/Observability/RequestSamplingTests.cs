using System.Diagnostics;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Observability;

/// <summary>
/// How a hop's sampling decision and the process's sampler combine. These tests attach listeners to the sidecar's
/// source that answer differently from the other tests' record-everything listeners; the runtime takes the most any
/// listener asks for, so they run alone.
/// </summary>
[Collection(Name)]
public sealed class RequestSamplingTests
{
    public const string Name = "sidecar activity sampling";

    /// <summary>A listener that records everything except new traces, which it only propagates (a declining ratio sampler).</summary>
    private static ActivityListener DeclineNewTraces(List<Activity> stopped) => new()
    {
        ShouldListenTo = s => s.Name == "Mesh.Sidecar",
        Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
            options.Parent == default ? ActivitySamplingResult.PropagationData : ActivitySamplingResult.AllDataAndRecorded,
        ActivityStopped = a =>
        {
            lock (stopped) stopped.Add(a);
        },
    };

    [Fact]
    public void Start_ProcessSamplerDeclinesNewTrace_ForwardsTheTraceUnsampledAndRecordsNothing()
    {
        var stopped = new List<Activity>();
        using var listener = DeclineNewTraces(stopped);
        ActivitySource.AddActivityListener(listener);

        var span = RequestTracing.Start(new TracingConfig(100, null), new DefaultHttpContext().Request, TrafficDirection.Outbound);
        span.SetPeerService("api");
        span.Complete(200, "api", "127.0.0.1:8080", null);
        using var message = new HttpRequestMessage();
        span.Inject(message);

        Assert.False(span.Sampled);
        Assert.Equal($"00-{span.TraceId.ToHexString()}-{span.SpanId.ToHexString()}-00", message.Headers.GetValues("traceparent").Single());
        Assert.Equal("0", message.Headers.GetValues("X-B3-Sampled").Single());
        Assert.NotNull(span.Activity);
        Assert.False(span.Activity.IsAllDataRequested);
        Assert.Empty(span.Activity.TagObjects);
    }

    [Fact]
    public void Start_CallerSampled_RecordedUnderTheCallersSpan()
    {
        var stopped = new List<Activity>();
        using var listener = DeclineNewTraces(stopped);
        ActivitySource.AddActivityListener(listener);
        var context = new DefaultHttpContext();
        context.Request.Headers["traceparent"] = "00-4af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        var span = RequestTracing.Start(new TracingConfig(100, null), context.Request, TrafficDirection.Inbound);
        span.SetPeerService("web");
        span.Complete(0, "local_app", null, "DC");

        Assert.True(span.Sampled);
        Activity recorded;
        lock (stopped) recorded = Assert.Single(stopped, a => a.TraceId.ToHexString() == "4af7651916cd43dd8448eb211c80319c");
        Assert.Equal(("b7ad6b7169203331", ActivityKind.Server), (recorded.ParentSpanId.ToHexString(), recorded.Kind));
        Assert.Equal("web", recorded.GetTagItem("peer.service"));
        // The downstream went away before an answer: no status code, and the span is an error saying why.
        Assert.Null(recorded.GetTagItem("http.response.status_code"));
        Assert.Equal((ActivityStatusCode.Error, "DC"), (recorded.Status, recorded.GetTagItem("error.type")));
    }

    [Fact]
    public void Start_CallerDeclined_NoActivityAndTheDecisionPassedOn()
    {
        var stopped = new List<Activity>();
        using var listener = DeclineNewTraces(stopped);
        ActivitySource.AddActivityListener(listener);
        var context = new DefaultHttpContext();
        context.Request.Headers["traceparent"] = "00-5af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

        var span = RequestTracing.Start(new TracingConfig(100, null), context.Request, TrafficDirection.Inbound);
        span.Complete(200, "local_app", null, null);

        Assert.Null(span.Activity);
        Assert.Equal(("5af7651916cd43dd8448eb211c80319c", false), (span.TraceId.ToHexString(), span.Sampled));
        lock (stopped) Assert.DoesNotContain(stopped, a => a.TraceId.ToHexString() == "5af7651916cd43dd8448eb211c80319c");
    }

    [Theory]
    [InlineData("spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web", "web")]
    [InlineData("spiffe://example.consul/ns/default/dc/dc1/svc/counting-v2", "counting-v2")]
    [InlineData("spiffe://example.consul/agent/client/dc/dc1/id/node-1", null)]
    [InlineData("spiffe://example.consul/ns/default/dc/dc1/svc/", null)]
    [InlineData("CN=web", null)]
    [InlineData(null, null)]
    public void ServiceOf_Identities_TheServiceOfAServiceIdentityOnly(string? identity, string? service)
    {
        Assert.Equal(service, RequestTracing.ServiceOf(identity));
    }
}

/// <summary>Runs <see cref="RequestSamplingTests"/> with no other test at the same time.</summary>
[CollectionDefinition(RequestSamplingTests.Name, DisableParallelization = true)]
public sealed class RequestSamplingCollection;
