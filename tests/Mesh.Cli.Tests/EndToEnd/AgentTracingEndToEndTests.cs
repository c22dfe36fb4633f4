using System.Diagnostics;
using System.Globalization;
using Mesh.Tracing.Tests.Receivers;

namespace Mesh.Cli.Tests.EndToEnd;

/// <summary>A real <c>mesh agent</c> tracing its HTTP API into a test OTLP/gRPC collector, configured by its config file.</summary>
public sealed class AgentTracingEndToEndTests
{
    [Fact]
    public async Task HttpRequest_WithTraceparent_ServerSpanUnderTheCallersSpanFlushedOnSigterm()
    {
        await using var otlp = await OtlpReceiver.StartAsync();
        var dir = Directory.CreateTempSubdirectory("mesh-agent-tracing-e2e-").FullName;
        try
        {
            var config = Path.Combine(dir, "tracing.json");
            await File.WriteAllTextAsync(config, $$$"""
                {"tracing": {"exporter": "otlp", "otlp_protocol": "grpc", "otlp_endpoint": "{{{otlp.GrpcAddress}}}"}}
                """);
            await using var agent = await AgentProcess.StartAsync(new AgentProcessOptions
            {
                ExtraArguments = ["-config-file", config],
                // A batch delay of a minute: within the test, spans can only arrive through the flush at shutdown.
                Environment = new Dictionary<string, string> { ["OTEL_BSP_SCHEDULE_DELAY"] = "60000" },
            });
            Assert.Contains("tracing: HTTP API spans as service mesh-agent to otlp (grpc)", agent.Output);

            var traceId = ActivityTraceId.CreateRandom().ToHexString();
            var caller = ActivitySpanId.CreateRandom().ToHexString();
            using var http = new HttpClient { BaseAddress = agent.BaseAddress };
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/kv/app/config?stale");
            request.Headers.Add("traceparent", $"00-{traceId}-{caller}-01");
            using (var response = await http.SendAsync(request))
            {
                Assert.Equal(404, (int)response.StatusCode);
            }

            // A request without a trace context starts a trace of its own.
            using (var untraced = await http.GetAsync("/v1/status/leader"))
            {
                untraced.EnsureSuccessStatusCode();
            }

            using (var kill = Process.Start("kill", ["-TERM", agent.Process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await agent.Process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            Assert.Equal(0, agent.Process.ExitCode);

            var spans = await otlp.Spans.WaitAsync(all => all.Any(s => s.Span.TraceId == traceId) && all.Any(s => s.Span.Name == "GET /v1/status/leader"),
                TimeSpan.FromSeconds(20));
            var span = spans.Single(s => s.Span.TraceId == traceId).Span;
            Assert.Equal(("grpc", "GET /v1/kv/{key}", OtlpDecoder.KindServer), (spans[0].Transport, span.Name, span.Kind));
            Assert.Equal(caller, span.ParentSpanId);
            Assert.Equal(("mesh-agent", agent.NodeName, "Mesh.Agent"), (span.ServiceName, span.ResourceAttributes["service.instance.id"], span.ScopeName));
            Assert.Equal("GET", span.Attributes["http.request.method"]);
            Assert.Equal("/v1/kv/app/config", span.Attributes["url.path"]);
            Assert.Equal("/v1/kv/{key}", span.Attributes["http.route"]);
            Assert.Equal("404", span.Attributes["http.response.status_code"]);
            Assert.False(span.Attributes.ContainsKey("url.query"));

            var root = spans.Single(s => s.Span.Name == "GET /v1/status/leader").Span;
            Assert.Null(root.ParentSpanId);
            Assert.NotEqual(traceId, root.TraceId);
            Assert.Empty(otlp.Errors.Items);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
