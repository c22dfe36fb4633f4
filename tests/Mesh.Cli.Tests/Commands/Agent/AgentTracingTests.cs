using Mesh.Agent.Config;
using Mesh.Cli.Commands;
using Mesh.Cli.Flags;
using Mesh.Cli.Tests.Support;
using Mesh.Tracing;

namespace Mesh.Cli.Tests.Commands.Agent;

/// <summary>
/// How <c>mesh agent</c> assembles its tracing: the <c>OTEL_*</c> environment, then the config files' <c>tracing</c>
/// block, then the <c>-tracing-*</c> flags; and how it refuses values it cannot use.
/// </summary>
public sealed class AgentTracingTests : IDisposable
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-agent-tracing-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ConfigFile(string json)
    {
        var file = Path.Combine(_dir, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json);
        return file;
    }

    private static TracingOptions Tracing(AgentConfig config, IReadOnlyDictionary<string, string> environment) =>
        AgentCommand.Tracing(config, name => environment.TryGetValue(name, out var value) ? value : null);

    [Fact]
    public void Tracing_NothingConfigured_OffWithTheAgentsServiceNameAndNode()
    {
        var options = Tracing(AgentCommand.Parse(["-dev", "-node", "node-7"]), NoEnvironment);

        Assert.Equal(TraceExporters.None, options.Exporters);
        Assert.Equal("mesh-agent", options.ServiceName);
        Assert.Equal("node-7", options.ResourceAttributes["service.instance.id"]);
    }

    [Fact]
    public void Tracing_ConfigBlock_EveryKeyRead()
    {
        var file = ConfigFile("""
            {"tracing": {"exporter": "otlp,zipkin", "service_name": "agent-a", "sample_ratio": 0.25,
                         "otlp_endpoint": "http://collector:4317", "otlp_protocol": "grpc",
                         "zipkin_endpoint": "http://zipkin:9411"}}
            """);

        var options = Tracing(AgentCommand.Parse(["-dev", "-config-file", file]), NoEnvironment);

        Assert.Equal(TraceExporters.Otlp | TraceExporters.Zipkin, options.Exporters);
        Assert.Equal(("agent-a", 0.25, OtlpProtocol.Grpc), (options.ServiceName, options.SamplingRatio, options.OtlpProtocol));
        Assert.Equal(new Uri("http://collector:4317"), options.ResolveOtlpTracesEndpoint());
        Assert.Equal(new Uri("http://zipkin:9411/api/v2/spans"), options.ResolveZipkinEndpoint());
    }

    [Fact]
    public void Tracing_EnvironmentConfigAndFlags_FlagsWinThenConfigThenEnvironment()
    {
        var file = ConfigFile("""{"tracing": {"exporter": "zipkin", "service_name": "from-config", "sample_ratio": 0.5}}""");
        var environment = new Dictionary<string, string>
        {
            ["OTEL_TRACES_EXPORTER"] = "otlp",
            ["OTEL_SERVICE_NAME"] = "from-env",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
            ["OTEL_TRACES_SAMPLER"] = "parentbased_traceidratio",
            ["OTEL_TRACES_SAMPLER_ARG"] = "0.1",
        };

        var config = AgentCommand.Parse(["-dev", "-config-file", file, "-tracing-sample-ratio", "0.75"]);
        var options = Tracing(config, environment);

        // The flag beats the file, the file beats the environment, and what neither sets comes from the environment.
        Assert.Equal(0.75, options.SamplingRatio);
        Assert.Equal((TraceExporters.Zipkin, "from-config"), (options.Exporters, options.ServiceName));
        Assert.Equal(OtlpProtocol.Grpc, options.OtlpProtocol);
    }

    [Fact]
    public void Tracing_LaterConfigFile_WinsKeyByKey()
    {
        var first = ConfigFile("""{"tracing": {"exporter": "zipkin", "service_name": "first"}}""");
        var second = ConfigFile("""{"tracing": {"service_name": "second"}}""");

        var options = Tracing(AgentCommand.Parse(["-dev", "-config-file", first, "-config-file", second]), NoEnvironment);

        Assert.Equal((TraceExporters.Zipkin, "second"), (options.Exporters, options.ServiceName));
    }

    [Theory]
    [InlineData("""{"tracing": {"exporter": "jaeger"}}""", "tracing.exporter: unknown exporter \"jaeger\"")]
    [InlineData("""{"tracing": {"exporter": 1}}""", "tracing.exporter must be a string")]
    [InlineData("""{"tracing": {"sample_ratio": 1.5}}""", "tracing.sample_ratio: the sampling ratio 1.5 is not between 0 and 1")]
    [InlineData("""{"tracing": {"sample_ratio": "0.5"}}""", "tracing.sample_ratio must be a number between 0 and 1")]
    [InlineData("""{"tracing": {"otlp_protocol": "udp"}}""", "tracing.otlp_protocol: unknown protocol \"udp\"")]
    [InlineData("""{"tracing": {"otlp_endpoint": "collector:4317"}}""", "tracing.otlp_endpoint: \"collector:4317\" is not an absolute http:// or https:// URL")]
    [InlineData("""{"tracing": {"zipkin_endpoint": "ftp://zipkin"}}""", "tracing.zipkin_endpoint")]
    [InlineData("""{"tracing": {"service_name": ""}}""", "tracing.service_name: the service name must not be empty")]
    [InlineData("""{"tracing": {"endpoint": "http://x"}}""", "invalid config key tracing.endpoint")]
    [InlineData("""{"tracing": "otlp"}""", "tracing must be an object")]
    public void Parse_BadTracingBlock_ConfigErrorNamingFileAndKey(string json, string expected)
    {
        var file = ConfigFile(json);

        var error = Assert.Throws<ConfigException>(() => AgentCommand.Parse(["-dev", "-config-file", file]));

        Assert.Contains($"config file \"{file}\"", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("-tracing-exporter", "jaeger")]
    [InlineData("-tracing-sample-ratio", "all")]
    [InlineData("-tracing-otlp-protocol", "http/json")]
    [InlineData("-tracing-otlp-endpoint", "localhost:4318")]
    [InlineData("-tracing-zipkin-endpoint", "zipkin")]
    [InlineData("-tracing-service-name", " ")]
    public void Parse_BadTracingFlag_FlagErrorNamingTheFlag(string flag, string value)
    {
        var error = Assert.Throws<FlagException>(() => AgentCommand.Parse(["-dev", flag, value]));

        Assert.StartsWith(flag + ":", error.Message);
    }

    [Fact]
    public async Task Run_BadTracingFlag_ExitsOneNamingTheFlag()
    {
        var run = await new CliHarness().RunAsync("agent", "-dev", "-http-port", "0", "-tracing-exporter", "jaeger");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("-tracing-exporter: unknown exporter \"jaeger\" (supported: otlp, zipkin, none)", run.Err);
        Assert.DoesNotContain("Starting Mesh agent", run.Out);
    }

    [Fact]
    public async Task Run_BadOtelVariable_ExitsOneNamingTheVariable()
    {
        var cli = new CliHarness();
        cli.Env["OTEL_TRACES_SAMPLER"] = "sometimes";

        var run = await cli.RunAsync("agent", "-dev", "-http-port", "0");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("OTEL_TRACES_SAMPLER: unsupported sampler \"sometimes\"", run.Err);
        Assert.DoesNotContain("Starting Mesh agent", run.Out);
    }
}
