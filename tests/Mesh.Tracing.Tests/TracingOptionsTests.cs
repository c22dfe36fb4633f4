namespace Mesh.Tracing.Tests;

public class TracingOptionsTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.GetValueOrDefault(name);
    }

    [Fact]
    public void FromEnvironment_NothingSet_TracingOffWithDefaults()
    {
        var options = TracingOptions.FromEnvironment(Env());

        Assert.Equal(TraceExporters.None, options.Exporters);
        Assert.Equal("unknown_service", options.ServiceName);
        Assert.Equal(1.0, options.SamplingRatio);
        Assert.True(options.ParentBased);
        Assert.Equal(OtlpProtocol.HttpProtobuf, options.OtlpProtocol);
        Assert.Equal(new Uri("http://localhost:4318/v1/traces"), options.ResolveOtlpTracesEndpoint());
        Assert.Equal(new Uri("http://localhost:9411/api/v2/spans"), options.ResolveZipkinEndpoint());
        Assert.Equal(new[] { "Mesh.*" }, options.Sources);
        // Mesh's batching, smaller and sooner than the specification's 512 spans / 5 s (see BatchScheduleDelay).
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.BatchScheduleDelay);
        Assert.Equal(64, options.BatchMaxExportSize);
        Assert.Equal(2048, options.BatchMaxQueueSize);
    }

    [Fact]
    public void FromEnvironment_EveryVariable_Applied()
    {
        var options = TracingOptions.FromEnvironment(Env(
            ("OTEL_SERVICE_NAME", "counting"),
            ("OTEL_TRACES_EXPORTER", "otlp, zipkin"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4317"),
            ("OTEL_EXPORTER_ZIPKIN_ENDPOINT", "http://zipkin:9411/api/v2/spans"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "3000"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50")));

        Assert.Equal("counting", options.ServiceName);
        Assert.Equal(TraceExporters.Otlp | TraceExporters.Zipkin, options.Exporters);
        Assert.Equal(OtlpProtocol.Grpc, options.OtlpProtocol);
        Assert.Equal(new Uri("http://jaeger:4317"), options.ResolveOtlpTracesEndpoint());
        Assert.Equal(new Uri("http://zipkin:9411/api/v2/spans"), options.ResolveZipkinEndpoint());
        Assert.Equal(0.25, options.SamplingRatio);
        Assert.True(options.ParentBased);
        Assert.Equal(TimeSpan.FromMilliseconds(200), options.BatchScheduleDelay);
        Assert.Equal(TimeSpan.FromSeconds(3), options.ExportTimeout);
        Assert.Equal(100, options.BatchMaxQueueSize);
        Assert.Equal(50, options.BatchMaxExportSize);
        options.Validate();
    }

    [Theory]
    [InlineData("http://collector:4318", "http://collector:4318/v1/traces")]
    [InlineData("http://collector:4318/", "http://collector:4318/v1/traces")]
    [InlineData("https://collector/otel", "https://collector/otel/v1/traces")]
    [InlineData("https://collector/otel/", "https://collector/otel/v1/traces")]
    public void FromEnvironment_HttpBaseEndpoint_TracesPathAppended(string endpoint, string expected)
    {
        var options = TracingOptions.FromEnvironment(Env(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)));

        Assert.Equal(new Uri(expected), options.ResolveOtlpTracesEndpoint());
    }

    [Fact]
    public void FromEnvironment_TracesEndpoint_UsedAsIsAndWinsOverBase()
    {
        var options = TracingOptions.FromEnvironment(Env(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom")));

        Assert.Equal(new Uri("http://traces:9999/custom"), options.ResolveOtlpTracesEndpoint());
    }

    [Fact]
    public void FromEnvironment_GrpcWithoutEndpoint_DefaultGrpcPort()
    {
        var options = TracingOptions.FromEnvironment(Env(("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")));

        Assert.Equal(new Uri("http://localhost:4317"), options.ResolveOtlpTracesEndpoint());
    }

    [Fact]
    public void FromEnvironment_TracesProtocol_WinsOverGeneralProtocol()
    {
        var options = TracingOptions.FromEnvironment(Env(
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")));

        Assert.Equal(OtlpProtocol.Grpc, options.OtlpProtocol);
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT")]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")]
    public void FromEnvironment_OtlpEndpointWithoutExporterVariable_OtlpOn(string variable)
    {
        var options = TracingOptions.FromEnvironment(Env((variable, "http://collector:4318")));

        Assert.Equal(TraceExporters.Otlp, options.Exporters);
    }

    [Fact]
    public void FromEnvironment_ExporterNone_WinsOverEndpoint()
    {
        var options = TracingOptions.FromEnvironment(Env(("OTEL_TRACES_EXPORTER", "none"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")));

        Assert.Equal(TraceExporters.None, options.Exporters);
    }

    [Fact]
    public void FromEnvironment_SdkDisabled_ExportersOff()
    {
        var options = TracingOptions.FromEnvironment(Env(("OTEL_TRACES_EXPORTER", "zipkin"), ("OTEL_SDK_DISABLED", "true")));

        Assert.Equal(TraceExporters.None, options.Exporters);
    }

    [Theory]
    [InlineData("always_on", null, 1.0, false)]
    [InlineData("always_off", null, 0.0, false)]
    [InlineData("traceidratio", "0.5", 0.5, false)]
    [InlineData("traceidratio", null, 1.0, false)]
    [InlineData("parentbased_always_on", "0.1", 1.0, true)]
    [InlineData("parentbased_always_off", null, 0.0, true)]
    [InlineData("PARENTBASED_TRACEIDRATIO", "0", 0.0, true)]
    public void FromEnvironment_Sampler_RatioAndParentBased(string sampler, string? argument, double ratio, bool parentBased)
    {
        var variables = new List<(string, string)> { ("OTEL_TRACES_SAMPLER", sampler) };
        if (argument is not null) variables.Add(("OTEL_TRACES_SAMPLER_ARG", argument));

        var options = TracingOptions.FromEnvironment(Env([.. variables]));

        Assert.Equal(ratio, options.SamplingRatio);
        Assert.Equal(parentBased, options.ParentBased);
    }

    [Fact]
    public void FromEnvironment_ResourceAttributes_DecodedAndServiceNameFallback()
    {
        var options = TracingOptions.FromEnvironment(Env(("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs, deployment.environment=dev%20box,team=mesh")));

        Assert.Equal("from-attrs", options.ServiceName);
        Assert.Equal("dev box", options.ResourceAttributes["deployment.environment"]);
        Assert.Equal("mesh", options.ResourceAttributes["team"]);
    }

    [Fact]
    public void FromEnvironment_ServiceNameVariable_WinsOverResourceAttribute()
    {
        var options = TracingOptions.FromEnvironment(Env(("OTEL_RESOURCE_ATTRIBUTES", "service.name=a"), ("OTEL_SERVICE_NAME", "b")));

        Assert.Equal("b", options.ServiceName);
    }

    [Fact]
    public void FromEnvironment_Defaults_KeptWhereUnset()
    {
        var defaults = new TracingOptions { ServiceName = "mesh-agent", Sources = ["Mesh.Agent"] };

        var options = TracingOptions.FromEnvironment(Env(("OTEL_TRACES_EXPORTER", "zipkin")), defaults);

        Assert.Equal("mesh-agent", options.ServiceName);
        Assert.Equal(new[] { "Mesh.Agent" }, options.Sources);
        Assert.Equal(TraceExporters.Zipkin, options.Exporters);
    }

    [Theory]
    [InlineData("OTEL_TRACES_EXPORTER", "jaeger", "jaeger")]
    [InlineData("OTEL_TRACES_EXPORTER", "otlp,none", "none")]
    [InlineData("OTEL_TRACES_EXPORTER", "otlp,,zipkin", "empty")]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "udp", "udp")]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "http/json")]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "h2", "h2")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317", "localhost:4317")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector", "ftp://collector")]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces", "/v1/traces")]
    [InlineData("OTEL_EXPORTER_ZIPKIN_ENDPOINT", "not a url", "not a url")]
    [InlineData("OTEL_TRACES_SAMPLER", "jaeger_remote", "jaeger_remote")]
    [InlineData("OTEL_BSP_SCHEDULE_DELAY", "-5", "-5")]
    [InlineData("OTEL_BSP_MAX_QUEUE_SIZE", "lots", "lots")]
    [InlineData("OTEL_BSP_EXPORT_TIMEOUT", "0", "\"0\"")]
    [InlineData("OTEL_SDK_DISABLED", "yes", "yes")]
    [InlineData("OTEL_RESOURCE_ATTRIBUTES", "=value", "=value")]
    public void FromEnvironment_BadValue_ArgumentExceptionNamingVariable(string variable, string value, string quoted)
    {
        var error = Assert.Throws<ArgumentException>(() => TracingOptions.FromEnvironment(Env((variable, value))));

        Assert.Equal(variable, error.ParamName);
        Assert.StartsWith(variable + ":", error.Message, StringComparison.Ordinal);
        Assert.Contains(quoted, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("-0.1")]
    [InlineData("half")]
    [InlineData("NaN")]
    public void FromEnvironment_BadSamplerArgument_ArgumentExceptionNamingArgumentVariable(string argument)
    {
        var error = Assert.Throws<ArgumentException>(() => TracingOptions.FromEnvironment(Env(
            ("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", argument))));

        Assert.Equal("OTEL_TRACES_SAMPLER_ARG", error.ParamName);
        Assert.Contains(argument, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromEnvironment_SamplerArgumentForFixedSampler_Ignored()
    {
        // The specification: the argument matters only to the ratio samplers.
        var options = TracingOptions.FromEnvironment(Env(("OTEL_TRACES_SAMPLER", "always_on"), ("OTEL_TRACES_SAMPLER_ARG", "garbage")));

        Assert.Equal(1.0, options.SamplingRatio);
    }

    [Fact]
    public void FromEnvironment_BatchLargerThanQueue_ArgumentException()
    {
        var error = Assert.Throws<ArgumentException>(() => TracingOptions.FromEnvironment(Env(
            ("OTEL_BSP_MAX_QUEUE_SIZE", "10"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"))));

        Assert.Equal("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", error.ParamName);
    }

    [Fact]
    public void WithFlag_AfterEnvironment_FlagsWin()
    {
        var options = TracingOptions.FromEnvironment(Env(
                ("OTEL_SERVICE_NAME", "from-env"), ("OTEL_TRACES_EXPORTER", "otlp"), ("OTEL_TRACES_SAMPLER", "always_off")))
            .WithFlags([
                new("tracing-service-name", "from-flag"),
                new("-tracing-exporter", "zipkin,otlp"),
                new("--tracing-sample-ratio", "0.5"),
                new("tracing-otlp-protocol", "grpc"),
                new("tracing-otlp-endpoint", "http://collector:4317"),
                new("tracing-zipkin-endpoint", "http://zipkin:9411"),
            ]);

        Assert.Equal("from-flag", options.ServiceName);
        Assert.Equal(TraceExporters.Otlp | TraceExporters.Zipkin, options.Exporters);
        Assert.Equal(0.5, options.SamplingRatio);
        Assert.True(options.ParentBased);
        Assert.Equal(new Uri("http://collector:4317"), options.ResolveOtlpTracesEndpoint());
        Assert.Equal(new Uri("http://zipkin:9411/api/v2/spans"), options.ResolveZipkinEndpoint());
    }

    [Fact]
    public void WithFlag_OtlpEndpoint_ReplacesTracesEndpointFromEnvironment()
    {
        var options = TracingOptions.FromEnvironment(Env(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:4318/v1/traces")))
            .WithFlag("tracing-otlp-endpoint", "http://flag:4318");

        Assert.Equal(new Uri("http://flag:4318/v1/traces"), options.ResolveOtlpTracesEndpoint());
    }

    [Theory]
    [InlineData("tracing-sample-ratio", "2")]
    [InlineData("tracing-exporter", "console")]
    [InlineData("tracing-otlp-endpoint", "collector")]
    [InlineData("tracing-service-name", " ")]
    public void WithFlag_BadValue_ArgumentExceptionNamingFlag(string flag, string value)
    {
        var error = Assert.Throws<ArgumentException>(() => new TracingOptions().WithFlag(flag, value));

        Assert.Equal("-" + flag, error.ParamName);
        Assert.StartsWith("-" + flag, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithFlag_Unknown_ArgumentException()
    {
        var error = Assert.Throws<ArgumentException>(() => new TracingOptions().WithFlag("tracing-colour", "blue"));

        Assert.Contains("-tracing-colour", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flags_EveryListedFlag_Accepted()
    {
        var values = new Dictionary<string, string>
        {
            ["tracing-exporter"] = "none",
            ["tracing-service-name"] = "x",
            ["tracing-sample-ratio"] = "1",
            ["tracing-otlp-endpoint"] = "http://c:4318",
            ["tracing-otlp-protocol"] = "http/protobuf",
            ["tracing-zipkin-endpoint"] = "http://z:9411",
        };

        foreach (var flag in TracingOptions.Flags)
        {
            Assert.False(string.IsNullOrWhiteSpace(flag.Help));
            new TracingOptions().WithFlag(flag.Name, values[flag.Name]);
        }

        Assert.Equal(values.Count, TracingOptions.Flags.Count);
    }

    [Theory]
    [InlineData("http://zipkin:9411", "http://zipkin:9411/api/v2/spans")]
    [InlineData("http://zipkin:9411/", "http://zipkin:9411/api/v2/spans")]
    [InlineData("http://jaeger:9411/api/v2/spans", "http://jaeger:9411/api/v2/spans")]
    [InlineData("http://proxy/zipkin/spans", "http://proxy/zipkin/spans")]
    public void ResolveZipkinEndpoint_PathlessUrl_SpansPathAdded(string endpoint, string expected)
    {
        Assert.Equal(new Uri(expected), new TracingOptions { ZipkinEndpoint = new Uri(endpoint) }.ResolveZipkinEndpoint());
    }

    [Fact]
    public void Validate_RatioOutOfRange_ArgumentExceptionNamingProperty()
    {
        var error = Assert.Throws<ArgumentException>(() => MeshTracing.Configure(new TracingOptions { SamplingRatio = 1.5, Exporters = TraceExporters.Zipkin }));

        Assert.Equal(nameof(TracingOptions.SamplingRatio), error.ParamName);
    }

    [Fact]
    public void Validate_NoSources_ArgumentException()
    {
        var error = Assert.Throws<ArgumentException>(() => new TracingOptions { Sources = [] }.Validate());

        Assert.Equal(nameof(TracingOptions.Sources), error.ParamName);
    }

    [Theory]
    [InlineData("tracing-exporter", "jaeger", "tracing.exporter: unknown exporter \"jaeger\"")]
    [InlineData("tracing-sample-ratio", "1.5", "tracing.sample_ratio: the sampling ratio 1.5 is not between 0 and 1")]
    [InlineData("tracing-zipkin-endpoint", "zipkin:9411", "tracing.zipkin_endpoint: \"zipkin:9411\" is not an absolute")]
    public void WithSetting_BadValue_MessageNamesTheSettingAsWritten(string name, string value, string expected)
    {
        var setting = "tracing." + name["tracing-".Length..].Replace('-', '_');

        var error = Assert.Throws<ArgumentException>(() => new TracingOptions().WithSetting(name, value, setting));

        Assert.StartsWith(expected, TracingOptions.ErrorText(error));
        Assert.Equal(setting, error.ParamName);
    }

    [Fact]
    public void WithSetting_GoodValue_SameAsTheFlag()
    {
        var fromSetting = new TracingOptions().WithSetting("tracing-otlp-protocol", "grpc", "tracing.otlp_protocol");

        Assert.Equal(new TracingOptions().WithFlag("tracing-otlp-protocol", "grpc"), fromSetting);
    }

    [Fact]
    public void ErrorText_ArgumentException_MessageWithoutTheParameterSuffix()
    {
        var error = Assert.Throws<ArgumentException>(() => new TracingOptions().WithFlag("tracing-otlp-protocol", "udp"));

        Assert.Contains("(Parameter '-tracing-otlp-protocol')", error.Message);
        Assert.Equal("-tracing-otlp-protocol: unknown protocol \"udp\" (supported: grpc, http/protobuf)", TracingOptions.ErrorText(error));
    }

    [Fact]
    public void DescribeExporters_EachExporter_NamedWithItsResolvedEndpoint()
    {
        var both = new TracingOptions { Exporters = TraceExporters.Otlp | TraceExporters.Zipkin, OtlpProtocol = OtlpProtocol.Grpc };

        Assert.Equal("otlp (grpc) http://localhost:4317/, zipkin http://localhost:9411/api/v2/spans", both.DescribeExporters());
        Assert.Equal("none", new TracingOptions().DescribeExporters());
    }
}
