using System.Diagnostics;
using Mesh.Tracing.Tests.Receivers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Tracing.Tests;

/// <summary>
/// One request across a real HTTP hop, as the demos will make it: the caller injects its client span's context, the
/// callee extracts it and starts its server span under it, and both spans reach the collector as one trace.
/// </summary>
public class HttpHopTests
{
    [Theory]
    [InlineData(PropagationFormats.W3C)]
    [InlineData(PropagationFormats.B3Single)]
    [InlineData(PropagationFormats.B3Multi)]
    public async Task Request_ContextPropagated_CalleeSpanIsChildOfCallerSpan(PropagationFormats format)
    {
        await using var zipkin = await ZipkinReceiver.StartAsync();
        using var source = new ActivitySource("TracingTests.Hop." + Guid.NewGuid().ToString("N"));
        using var tracing = MeshTracing.Configure(new TracingOptions
        {
            ServiceName = "dashboard",
            Sources = [source.Name],
            Exporters = TraceExporters.Zipkin,
            ZipkinEndpoint = zipkin.BaseAddress,
        });
        PropagationFormats? received = null;
        await using var counting = await KestrelHost.StartAsync(HttpProtocols.Http1, async context =>
        {
            var parent = Propagation.Extract(context.Request.Headers, (headers, name) => headers[name].ToString() is { Length: > 0 } v ? v : null);
            received = parent?.Format;
            var parentContext = parent is { } p && p.TryGetActivityContext(out var c) ? c : default;
            using var server = source.StartActivity("GET /", ActivityKind.Server, parentContext)!;
            server.SetTag("service.name", "counting");
            await context.Response.WriteAsync("{\"count\":1}");
        });
        // HttpClient would add its own traceparent for Activity.Current; with it off, only the format under test travels.
        using var http = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator() });

        string traceId, clientSpanId;
        using (var client = source.StartActivity("GET counting", ActivityKind.Client)!)
        {
            traceId = client.TraceId.ToHexString();
            clientSpanId = client.SpanId.ToHexString();
            using var request = new HttpRequestMessage(HttpMethod.Get, counting.BaseAddress);
            Propagation.Inject(client, request.Headers, (headers, name, value) =>
            {
                headers.Remove(name);
                headers.TryAddWithoutValidation(name, value);
            }, format);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
        }

        Assert.True(tracing.ForceFlush(TimeSpan.FromSeconds(15)));
        var spans = await zipkin.Spans.WaitAsync(s => s.Count(x => x.TraceId == traceId) == 2);

        Assert.Equal(format, received);
        var callee = Assert.Single(spans, s => s.Kind == "SERVER");
        Assert.Equal(traceId, callee.TraceId);
        Assert.Equal(clientSpanId, callee.ParentId);
        Assert.Equal("counting", callee.LocalServiceName);
        var caller = Assert.Single(spans, s => s.Kind == "CLIENT");
        Assert.Equal("dashboard", caller.LocalServiceName);
        Assert.Null(caller.ParentId);
    }
}
