using Mesh.Demos.Tests.Docs;
using Mesh.Demos.Tests.Infrastructure;
using Mesh.Tracing.Tests.Receivers;

namespace Mesh.Demos.Tests.Tracing;

/// <summary>
/// demos/tracing as its README runs it, with the test's OTLP and Zipkin collectors standing in for Jaeger: the
/// services and both sidecars export to both, and one dashboard poll must arrive as one trace of four linked spans.
/// </summary>
[Collection(DemoCollection.Name)]
public class CrossHopTraceTests
{
    private static readonly Dictionary<string, int> ConnectPorts = new()
    {
        ["MESH_HTTP_ADDR"] = 8500, ["MESH_GRPC_ADDR"] = 8502, ["DEMO_DNS_PORT"] = 8600, ["COUNTING_PORT"] = 9003, ["DASHBOARD_PORT"] = 9002,
        ["COUNTING_UPSTREAM_PORT"] = 5000, ["COUNTING_SIDECAR_PORT"] = 21000, ["DASHBOARD_SIDECAR_PORT"] = 21001,
    };

    [Fact]
    public async Task TracingReadme_DashboardPoll_OneTraceAcrossBothSidecarsInOtlpAndZipkin()
    {
        await using var otlp = await OtlpReceiver.StartAsync();
        await using var zipkin = await ZipkinReceiver.StartAsync();
        await using var demo = DemoRun.ForConnect("demos/tracing/stop.sh", new Dictionary<string, string>
        {
            ["OTEL_TRACES_EXPORTER"] = "otlp,zipkin",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.HttpBaseAddress.ToString(),
            ["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] = zipkin.BaseAddress.ToString(),
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        DashboardTrace? viaOtlp = null, viaZipkin = null;

        await Readme.RunAsync(DemoPaths.Demos("tracing", "README.md"), demo, "demos/tracing/.run", ConnectPorts, async (step, result) =>
        {
            Assert.Equal(0, result.ExitCode);
            if (step.Command != "demos/tracing/start.sh") return;
            try
            {
                var fromOtlp = await otlp.Spans.WaitAsync(s => DashboardTrace.Find(s.Select(x => HopSpan.From(x.Span))) is not null, TimeSpan.FromSeconds(60));
                viaOtlp = DashboardTrace.Find(fromOtlp.Select(x => HopSpan.From(x.Span)));
                var fromZipkin = await zipkin.Spans.WaitAsync(s => DashboardTrace.Find(s.Select(HopSpan.From)) is not null, TimeSpan.FromSeconds(60));
                viaZipkin = DashboardTrace.Find(fromZipkin.Select(HopSpan.From));
            }
            catch (TimeoutException e)
            {
                var seen = string.Join('\n', otlp.Spans.Items.Select(x => HopSpan.From(x.Span)).Take(40));
                Assert.Fail($"{e.Message}\nOTLP spans so far:\n{seen}\nOTLP errors: {string.Join("; ", otlp.Errors.Items)}\nZipkin errors: {string.Join("; ", zipkin.Errors.Items)}\n{demo.Logs()}");
            }
        });

        AssertDashboardTrace(viaOtlp!);
        AssertDashboardTrace(viaZipkin!);
        Assert.Empty(otlp.Errors.Items);
        Assert.Empty(zipkin.Errors.Items);
    }

    private static void AssertDashboardTrace(DashboardTrace trace)
    {
        var (dashboard, outbound, inbound, counting) = (trace.Dashboard, trace.DashboardSidecar, trace.CountingSidecar, trace.Counting);
        Assert.All([outbound, inbound, counting], span => Assert.Equal(dashboard.TraceId, span.TraceId));

        Assert.Equal("GET counting", dashboard.Name);
        Assert.Equal("counting", dashboard.Tags["peer.service"]);
        Assert.Equal("200", dashboard.Tags["http.response.status_code"]);
        Assert.True(long.Parse(dashboard.Tags["demo.count"], System.Globalization.CultureInfo.InvariantCulture) >= 1);

        Assert.Equal("GET", outbound.Name);
        Assert.Equal("counting", outbound.Tags["peer.service"]);
        Assert.Equal("200", outbound.Tags["http.response.status_code"]);

        Assert.Equal("GET", inbound.Name);
        Assert.Equal("dashboard", inbound.Tags["peer.service"]);
        Assert.Equal("local_app", inbound.Tags["mesh.upstream.cluster"]);

        Assert.Equal("GET /", counting.Name);
        Assert.Equal(dashboard.Tags["demo.count"], counting.Tags["demo.count"]);
        Assert.Equal("/", counting.Tags["url.path"]);
    }
}
