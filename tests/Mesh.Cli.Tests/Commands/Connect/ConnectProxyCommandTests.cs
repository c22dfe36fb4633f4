using System.Text.Json;
using Mesh.Cli.Commands.Connect;
using Mesh.Cli.Tests.Support;
using Mesh.Sidecar.Hosting;
using Mesh.Tracing;
using Microsoft.Extensions.Logging;

namespace Mesh.Cli.Tests.Commands.Connect;

/// <summary><c>mesh connect proxy</c> against a stubbed agent, with the sidecar's run recorded instead of performed.</summary>
public sealed class ConnectProxyCommandTests
{
    private const string WebProxy = """
        {"Kind":"connect-proxy","ID":"web-sidecar-proxy","Service":"web-sidecar-proxy","Port":21000,
         "Proxy":{"DestinationServiceName":"web","DestinationServiceID":"web","LocalServicePort":8080}}
        """;

    /// <summary>Records the options the sidecar would run with.</summary>
    private sealed class RecordingRunner(int exitCode = 0) : ISidecarRunner
    {
        public SidecarOptions? Options { get; private set; }

        public Task<int> RunAsync(CliContext ctx, SidecarOptions options)
        {
            Options = options;
            return Task.FromResult(exitCode);
        }
    }

    private static (CliHarness Cli, RecordingRunner Runner) Agent(string services = "{}", int grpcPort = 8503)
    {
        var runner = new RecordingRunner();
        var cli = new CliHarness { SidecarRunner = runner };
        cli.Handler.On("GET", "/v1/agent/services", 200, services);
        cli.Handler.On("GET", "/v1/agent/service/web-sidecar-proxy", 200, WebProxy);
        cli.Handler.On("GET", "/v1/agent/service/web-proxy", 200, WebProxy.Replace("web-sidecar-proxy", "web-proxy", StringComparison.Ordinal));
        cli.Handler.On("GET", "/v1/agent/service/unknown", 404, "unknown service ID: unknown");
        cli.Handler.On("GET", "/v1/agent/self", 200, $$$"""{"Config":{"Datacenter":"dc1"},"DebugConfig":{"GRPCPort":{{{grpcPort}}}}}""");
        cli.Handler.On("PUT", "/v1/agent/service/register", 200);
        cli.Handler.On("PUT", "/v1/agent/service/deregister/web-proxy", 200);
        return (cli, runner);
    }

    private static string Sidecar(string id, string destinationId) =>
        $$$"""
        "{{{id}}}":{"Kind":"connect-proxy","ID":"{{{id}}}","Service":"{{{id}}}","Port":21000,
                  "Proxy":{"DestinationServiceName":"web","DestinationServiceID":"{{{destinationId}}}"}}
        """;

    [Fact]
    public async Task Run_SidecarFor_RunsTheProxyWithTheAgentsGrpcPortAndFlags()
    {
        var (cli, runner) = Agent("{" + Sidecar("web-sidecar-proxy", "web") + """, "web":{"ID":"web","Service":"web"}}""");

        var run = await cli.RunAsync("connect", "proxy", "-sidecar-for", "web", "-token", "tok", "-admin-bind", "127.0.0.1:0",
            "-drain-timeout", "2s", "-log-level", "debug");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        var options = runner.Options!;
        Assert.Equal(("web-sidecar-proxy", "web-sidecar-proxy"), (options.ProxyId, options.ProxyService));
        Assert.Equal(new Uri("http://127.0.0.1:8503"), options.AgentGrpcAddress);
        Assert.Null(options.AgentCaFile);
        Assert.Equal(("tok", "127.0.0.1:0", TimeSpan.FromSeconds(2), LogLevel.Debug),
            (options.Token, options.AdminBind, options.DrainTimeout, options.LogLevel));
    }

    [Fact]
    public async Task Run_SidecarForWithoutProxy_SaysNoneIsRegistered()
    {
        var (cli, runner) = Agent("""{"web":{"ID":"web","Service":"web"}}""");

        var run = await cli.RunAsync("connect", "proxy", "-sidecar-for", "web");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("No sidecar proxy registered for web", run.Err);
        Assert.Null(runner.Options);
    }

    [Fact]
    public async Task Run_SidecarForWithTwoProxies_ListsThemAndAsksForProxyId()
    {
        var (cli, runner) = Agent("{" + Sidecar("web-a", "web") + "," + Sidecar("web-b", "web") + "}");

        var run = await cli.RunAsync("connect", "proxy", "-sidecar-for", "web");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("-proxy-id", run.Err);
        Assert.Contains("web-a, web-b", run.Err);
        Assert.Null(runner.Options);
    }

    [Fact]
    public async Task Run_NoProxyGiven_Fails()
    {
        var (cli, _) = Agent();

        var run = await cli.RunAsync("connect", "proxy");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("One of -proxy-id, -sidecar-for or -service is required", run.Err);
    }

    [Fact]
    public async Task Run_ProxyIdNotAProxy_FailsWithTheAgentsAnswer()
    {
        var (cli, runner) = Agent();

        var run = await cli.RunAsync("connect", "proxy", "-proxy-id", "unknown");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("unknown service ID", run.Err);
        Assert.Null(runner.Options);
    }

    [Fact]
    public async Task Run_ServiceWithoutRegister_ExplainsThatXdsNeedsARegistration()
    {
        var (cli, _) = Agent();

        var run = await cli.RunAsync("connect", "proxy", "-service", "web", "-listen", "127.0.0.1:21000");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("-register", run.Err);
        Assert.Contains("xDS", run.Err);
        Assert.DoesNotContain(cli.Handler.Log, r => r.StartsWith("PUT", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_AdHocRegister_RegistersRunsAndDeregisters()
    {
        var (cli, runner) = Agent();

        var run = await cli.RunAsync("connect", "proxy", "-service", "web", "-service-addr", "127.0.0.1:8080", "-listen", "127.0.0.1:21000",
            "-upstream", "db:9191", "-upstream", "cache:9192", "-register", "-grpc-addr", "127.0.0.1:9502");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        Assert.Equal("web-proxy", runner.Options!.ProxyId);
        Assert.Equal(new Uri("http://127.0.0.1:9502"), runner.Options.AgentGrpcAddress);
        var register = cli.Handler.Requests.Single(r => r.Path == "/v1/agent/service/register");
        var body = JsonDocument.Parse(register.BodyText).RootElement;
        Assert.Equal(("connect-proxy", "web-proxy", "web-proxy", 21000), (body.GetProperty("Kind").GetString(), body.GetProperty("ID").GetString(),
            body.GetProperty("Name").GetString(), body.GetProperty("Port").GetInt32()));
        var proxy = body.GetProperty("Proxy");
        Assert.Equal(("web", "127.0.0.1", 8080), (proxy.GetProperty("DestinationServiceName").GetString(),
            proxy.GetProperty("LocalServiceAddress").GetString(), proxy.GetProperty("LocalServicePort").GetInt32()));
        Assert.Equal([("db", 9191), ("cache", 9192)], proxy.GetProperty("Upstreams").EnumerateArray()
            .Select(u => (u.GetProperty("DestinationName").GetString(), u.GetProperty("LocalBindPort").GetInt32())));
        Assert.Equal("127.0.0.1:21000", body.GetProperty("Check").GetProperty("TCP").GetString());
        var log = cli.Handler.Log;
        Assert.True(log.ToList().IndexOf("PUT /v1/agent/service/deregister/web-proxy") > log.ToList().IndexOf("PUT /v1/agent/service/register"));
    }

    [Fact]
    public async Task Run_AdHocRegistrationRefused_FailsWithoutRunningOrDeregistering()
    {
        var runner = new RecordingRunner();
        var cli = new CliHarness { SidecarRunner = runner };
        cli.Handler.On("PUT", "/v1/agent/service/register", 400, "Invalid service: bad port");

        var run = await cli.RunAsync("connect", "proxy", "-service", "web", "-listen", "127.0.0.1:21000", "-register");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("bad port", run.Err);
        Assert.Null(runner.Options);
        Assert.DoesNotContain(cli.Handler.Log, r => r.Contains("deregister", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("-upstream", "db")]
    [InlineData("-upstream", "db:0")]
    [InlineData("-listen", "nowhere")]
    [InlineData("-service-addr", "127.0.0.1")]
    public async Task Run_AdHocBadValue_FailsBeforeRegistering(string flag, string value)
    {
        var (cli, runner) = Agent();
        string[] args = ["connect", "proxy", "-service", "web", "-register", "-listen", "127.0.0.1:21000", flag, value];

        var run = await cli.RunAsync(args);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(value, run.Err);
        Assert.Null(runner.Options);
        Assert.DoesNotContain(cli.Handler.Log, r => r.StartsWith("PUT", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("-log-level", "chatty", "Invalid -log-level")]
    [InlineData("-admin-bind", "somewhere", "admin bind address")]
    [InlineData("-upstream", "db:9191", "need -service")]
    public async Task Run_BadFlag_FailsWithAClearMessage(string flag, string value, string message)
    {
        var (cli, runner) = Agent();

        var run = await cli.RunAsync("connect", "proxy", "-proxy-id", "web-sidecar-proxy", flag, value);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(message, run.Err);
        Assert.Null(runner.Options);
    }

    [Fact]
    public async Task Run_MetricsAddrAndGrpcTls_AreUsed()
    {
        var (cli, runner) = Agent();
        cli.Env["CONSUL_GRPC_ADDR"] = "https://127.0.0.1:8503";

        var run = await cli.RunAsync("connect", "proxy", "-proxy-id", "web-sidecar-proxy", "-metrics-addr", "127.0.0.1:9102",
            "-grpc-ca-file", "/etc/ca.pem");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        Assert.Equal(("127.0.0.1:9102", "/etc/ca.pem", new Uri("https://127.0.0.1:8503")),
            (runner.Options!.AdminBind, runner.Options.AgentCaFile, runner.Options.AgentGrpcAddress));
    }

    [Fact]
    public async Task Run_NoTracingSettings_ProxyExportsNothing()
    {
        var (cli, runner) = Agent();

        var run = await cli.RunAsync("connect", "proxy", "-proxy-id", "web-sidecar-proxy");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        Assert.Equal(TraceExporters.None, runner.Options!.Tracing!.Exporters);
        Assert.Null(SidecarHost.DefaultTracing(runner.Options));
    }

    [Fact]
    public async Task Run_TracingFlags_ProxyExportsAsItsServiceName()
    {
        var (cli, runner) = Agent("{" + Sidecar("web-sidecar-proxy", "web") + "}");

        var run = await cli.RunAsync("connect", "proxy", "-sidecar-for", "web", "-tracing-exporter", "zipkin",
            "-tracing-zipkin-endpoint", "http://zipkin:9411", "-tracing-sample-ratio", "0.5");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        var tracing = runner.Options!.Tracing!;
        Assert.Equal((TraceExporters.Zipkin, "web-sidecar-proxy", 0.5), (tracing.Exporters, tracing.ServiceName, tracing.SamplingRatio));
        Assert.Equal(new Uri("http://zipkin:9411/api/v2/spans"), tracing.ResolveZipkinEndpoint());
        Assert.Equal(100, SidecarHost.DefaultTracing(runner.Options)!.SamplePercent);
    }

    [Fact]
    public async Task Run_AdHocWithOtelEnvironment_ExportsAsTheRegisteredProxyName()
    {
        var (cli, runner) = Agent();
        cli.Env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4318";

        var run = await cli.RunAsync("connect", "proxy", "-service", "web", "-listen", "127.0.0.1:21000", "-register");

        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        var tracing = runner.Options!.Tracing!;
        Assert.Equal((TraceExporters.Otlp, "web-proxy"), (tracing.Exporters, tracing.ServiceName));
        Assert.Equal(new Uri("http://collector:4318/v1/traces"), tracing.ResolveOtlpTracesEndpoint());
    }

    [Fact]
    public async Task Run_OtelServiceNameAndFlag_FlagWinsOverEnvironmentWhichWinsOverProxyName()
    {
        var (cli, runner) = Agent();
        cli.Env["OTEL_SERVICE_NAME"] = "from-env";
        cli.Env["OTEL_TRACES_EXPORTER"] = "otlp";
        cli.Env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";

        var fromEnvironment = await cli.RunAsync("connect", "proxy", "-proxy-id", "web-sidecar-proxy");
        var envTracing = runner.Options!.Tracing!;
        var fromFlag = await cli.RunAsync("connect", "proxy", "-proxy-id", "web-sidecar-proxy", "-tracing-service-name", "from-flag",
            "-tracing-otlp-protocol", "http/protobuf");

        Assert.Equal((0, 0), (fromEnvironment.ExitCode, fromFlag.ExitCode));
        Assert.Equal(("from-env", OtlpProtocol.Grpc), (envTracing.ServiceName, envTracing.OtlpProtocol));
        Assert.Equal(("from-flag", OtlpProtocol.HttpProtobuf), (runner.Options.Tracing!.ServiceName, runner.Options.Tracing.OtlpProtocol));
    }

    [Theory]
    [InlineData("-tracing-exporter", "jaeger", "-tracing-exporter: unknown exporter \"jaeger\"")]
    [InlineData("-tracing-sample-ratio", "2", "-tracing-sample-ratio: the sampling ratio 2 is not between 0 and 1")]
    [InlineData("-tracing-otlp-endpoint", "collector", "-tracing-otlp-endpoint: \"collector\" is not an absolute")]
    [InlineData("-tracing-otlp-protocol", "udp", "-tracing-otlp-protocol: unknown protocol \"udp\"")]
    public async Task Run_BadTracingFlag_ExitsOneNamingTheFlagBeforeAskingTheAgent(string flag, string value, string message)
    {
        var (cli, runner) = Agent();

        var run = await cli.RunAsync("connect", "proxy", "-sidecar-for", "web", flag, value);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(message, run.Err);
        Assert.Null(runner.Options);
        Assert.Empty(cli.Handler.Log);
    }

    [Fact]
    public async Task Run_BadOtelVariable_ExitsOneNamingTheVariable()
    {
        var (cli, runner) = Agent();
        cli.Env["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] = "zipkin:9411";

        var run = await cli.RunAsync("connect", "proxy", "-proxy-id", "web-sidecar-proxy");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("OTEL_EXPORTER_ZIPKIN_ENDPOINT", run.Err);
        Assert.Null(runner.Options);
    }

    [Fact]
    public async Task SidecarRunner_UnusableOptions_ReportsTheErrorAndFails()
    {
        var err = new StringWriter();
        var ctx = new CliContext(new StringWriter(), err, new StringReader(""), _ => null, CancellationToken.None);

        var code = await new SidecarRunner(Mesh.Sidecar.Hosting.SidecarHost.Create).RunAsync(ctx,
            new SidecarOptions { ProxyId = "p", AgentGrpcAddress = new Uri("http://127.0.0.1:8502"), AgentCaFile = "/nonexistent/ca.pem" });

        Assert.Equal(1, code);
        Assert.StartsWith("Error starting the sidecar proxy: ", err.ToString());
        Assert.Contains("/nonexistent/ca.pem", err.ToString());
    }
}
