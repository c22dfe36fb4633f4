using System.Collections.Immutable;

namespace Mesh.Tracing;

/// <summary>Where finished spans go; several may be combined.</summary>
[Flags]
public enum TraceExporters
{
    /// <summary>Spans are not exported; no listener is attached, so instrumented code pays almost nothing.</summary>
    None = 0,

    /// <summary>OTLP to Jaeger (1.35 and later) or any OpenTelemetry collector.</summary>
    Otlp = 1,

    /// <summary>Zipkin v2 JSON to Zipkin, or to Jaeger's Zipkin port (9411).</summary>
    Zipkin = 2,
}

/// <summary>The OTLP transport.</summary>
public enum OtlpProtocol
{
    /// <summary>OTLP/HTTP with protobuf bodies (<c>http/protobuf</c>), port 4318; the specification's default.</summary>
    HttpProtobuf,

    /// <summary>OTLP/gRPC (<c>grpc</c>), port 4317.</summary>
    Grpc,
}

/// <summary>
/// How a Mesh process traces: which <see cref="System.Diagnostics.ActivitySource"/>s are recorded, under which service
/// name, how many traces are sampled, and where spans are exported. Build it from the standard <c>OTEL_*</c>
/// environment variables with <see cref="FromEnvironment"/>, then let command-line flags win
/// with <see cref="WithFlag(string, string)"/>; hand the result to <see cref="MeshTracing.Configure"/>.
/// </summary>
public sealed record TracingOptions
{
    /// <summary>The OTLP/gRPC endpoint used when none is configured.</summary>
    public static readonly Uri DefaultOtlpGrpcEndpoint = new("http://localhost:4317");

    /// <summary>The OTLP/HTTP base endpoint used when none is configured (traces go to <c>/v1/traces</c> below it).</summary>
    public static readonly Uri DefaultOtlpHttpEndpoint = new("http://localhost:4318");

    /// <summary>The Zipkin collector used when none is configured.</summary>
    public static readonly Uri DefaultZipkinEndpoint = new("http://localhost:9411/api/v2/spans");

    /// <summary>Every Mesh assembly's source: <c>Mesh.Sidecar</c>, <c>Mesh.Agent</c>, the demos' <c>Mesh.Demos.*</c>.</summary>
    public static readonly ImmutableArray<string> DefaultSources = ["Mesh.*"];

    /// <summary>The <c>service.name</c> resource attribute; the specification's default is <c>unknown_service</c>.</summary>
    public string ServiceName { get; init; } = "unknown_service";

    /// <summary>
    /// Names of the activity sources to record; a trailing <c>*</c> matches any suffix (so <c>Mesh.*</c> covers
    /// <c>Mesh.Sidecar</c>).
    /// </summary>
    public ImmutableArray<string> Sources { get; init; } = DefaultSources;

    /// <summary>More resource attributes (<c>OTEL_RESOURCE_ATTRIBUTES</c>); <see cref="ServiceName"/> wins over a <c>service.name</c> here.</summary>
    public ImmutableDictionary<string, string> ResourceAttributes { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Where spans are exported; <see cref="TraceExporters.None"/> turns tracing off.</summary>
    public TraceExporters Exporters { get; init; } = TraceExporters.None;

    /// <summary>The fraction of new traces recorded, 0 to 1.</summary>
    public double SamplingRatio { get; init; } = 1.0;

    /// <summary>
    /// Whether a span with a parent follows the parent's sampling decision (the <c>parentbased_*</c> samplers), so a
    /// trace is recorded whole or not at all across every hop; <see cref="SamplingRatio"/> then decides only for roots.
    /// </summary>
    public bool ParentBased { get; init; } = true;

    /// <summary>The OTLP transport.</summary>
    public OtlpProtocol OtlpProtocol { get; init; } = OtlpProtocol.HttpProtobuf;

    /// <summary>
    /// The OTLP base endpoint (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>): for HTTP, traces go to <c>v1/traces</c> below its
    /// path; for gRPC it is used as it is. Null means the protocol's default port on localhost.
    /// </summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>The OTLP traces endpoint (<c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>), used exactly as given; wins over <see cref="OtlpEndpoint"/>.</summary>
    public Uri? OtlpTracesEndpoint { get; init; }

    /// <summary>
    /// The Zipkin collector. A URL with no path (<c>http://zipkin:9411</c>) means its <c>/api/v2/spans</c>; a URL
    /// with a path is used as it is. Null means <see cref="DefaultZipkinEndpoint"/>.
    /// </summary>
    public Uri? ZipkinEndpoint { get; init; }

    /// <summary>
    /// How long finished spans wait in the batch before export (<c>OTEL_BSP_SCHEDULE_DELAY</c>). Mesh's default,
    /// 100 ms, and <see cref="BatchMaxExportSize"/>'s, 64, are far below the specification's 5 s and 512: a span
    /// waiting for export is an object graph every garbage collection must keep, and in a proxy at 1,000 requests/s
    /// batches of 512 held for half a second each made collections long enough to show in the p99 (the sidecar
    /// benchmark measured about +50 % with 512 and no difference beyond its noise with 64). Small frequent exports
    /// cost a few more requests to the collector.
    /// </summary>
    public TimeSpan BatchScheduleDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How many finished spans wait at most; more are dropped (<c>OTEL_BSP_MAX_QUEUE_SIZE</c>).</summary>
    public int BatchMaxQueueSize { get; init; } = 2048;

    /// <summary>The most spans in one export request (<c>OTEL_BSP_MAX_EXPORT_BATCH_SIZE</c>); see <see cref="BatchScheduleDelay"/>.</summary>
    public int BatchMaxExportSize { get; init; } = 64;

    /// <summary>How long one export request may take (<c>OTEL_BSP_EXPORT_TIMEOUT</c>).</summary>
    public TimeSpan ExportTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The URL the OTLP exporter sends traces to, after the specification's endpoint rules.</summary>
    public Uri ResolveOtlpTracesEndpoint()
    {
        if (OtlpTracesEndpoint is { } exact) return exact;
        if (OtlpProtocol == OtlpProtocol.Grpc) return OtlpEndpoint ?? DefaultOtlpGrpcEndpoint;
        return AppendPath(OtlpEndpoint ?? DefaultOtlpHttpEndpoint, "v1/traces");
    }

    /// <summary>The URL the Zipkin exporter posts to.</summary>
    public Uri ResolveZipkinEndpoint()
    {
        var endpoint = ZipkinEndpoint ?? DefaultZipkinEndpoint;
        return endpoint.AbsolutePath is "" or "/" ? AppendPath(endpoint, "api/v2/spans") : endpoint;
    }

    /// <summary>
    /// Where spans go, for a start-up log line: <c>otlp (http/protobuf) http://localhost:4318/v1/traces, zipkin
    /// http://zipkin:9411/api/v2/spans</c>, or <c>none</c>.
    /// </summary>
    public string DescribeExporters()
    {
        var parts = new List<string>(2);
        if (Exporters.HasFlag(TraceExporters.Otlp))
        {
            parts.Add($"otlp ({(OtlpProtocol == OtlpProtocol.Grpc ? "grpc" : "http/protobuf")}) {ResolveOtlpTracesEndpoint()}");
        }

        if (Exporters.HasFlag(TraceExporters.Zipkin)) parts.Add($"zipkin {ResolveZipkinEndpoint()}");
        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }

    /// <summary>Checks the options as a whole; <see cref="MeshTracing.Configure"/> calls it.</summary>
    /// <exception cref="ArgumentException">A value is out of range, naming the property.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ServiceName)) throw new ArgumentException("the service name must not be empty", nameof(ServiceName));
        if (Sources.IsDefaultOrEmpty || Sources.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("at least one activity source is needed, and no source name may be empty", nameof(Sources));
        }

        if (!(SamplingRatio >= 0 && SamplingRatio <= 1)) throw new ArgumentException($"the sampling ratio {SamplingRatio} is not between 0 and 1", nameof(SamplingRatio));
        if (BatchScheduleDelay <= TimeSpan.Zero) throw new ArgumentException("the batch delay must be positive", nameof(BatchScheduleDelay));
        if (ExportTimeout <= TimeSpan.Zero) throw new ArgumentException("the export timeout must be positive", nameof(ExportTimeout));
        if (BatchMaxQueueSize < 1) throw new ArgumentException("the batch queue must hold at least one span", nameof(BatchMaxQueueSize));
        if (BatchMaxExportSize < 1 || BatchMaxExportSize > BatchMaxQueueSize)
        {
            throw new ArgumentException("the export batch size must be between 1 and the queue size", nameof(BatchMaxExportSize));
        }

        CheckUrl(OtlpEndpoint, nameof(OtlpEndpoint));
        CheckUrl(OtlpTracesEndpoint, nameof(OtlpTracesEndpoint));
        CheckUrl(ZipkinEndpoint, nameof(ZipkinEndpoint));
    }

    /// <summary>
    /// Reads the standard OpenTelemetry environment variables through <paramref name="getenv"/> (pass
    /// <see cref="Environment.GetEnvironmentVariable(string)"/> in a process; a dictionary in a test):
    /// <c>OTEL_SDK_DISABLED</c>, <c>OTEL_SERVICE_NAME</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c>, <c>OTEL_TRACES_EXPORTER</c>
    /// (<c>otlp</c>, <c>zipkin</c>, <c>none</c>, comma separated), <c>OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT</c>,
    /// <c>OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL</c> (<c>grpc</c>, <c>http/protobuf</c>),
    /// <c>OTEL_EXPORTER_ZIPKIN_ENDPOINT</c>, <c>OTEL_TRACES_SAMPLER</c> and <c>OTEL_TRACES_SAMPLER_ARG</c>, and
    /// <c>OTEL_BSP_*</c>. Unset or empty variables keep <paramref name="defaults"/>' values.
    /// </summary>
    /// <remarks>
    /// One departure from the specification, on purpose: a mesh binary is not an application that chose to install an
    /// SDK, so with <c>OTEL_TRACES_EXPORTER</c> unset it exports OTLP only when an OTLP endpoint variable is set, and
    /// otherwise nothing (the specification would send OTLP to localhost).
    /// </remarks>
    /// <exception cref="ArgumentException">A variable holds a value that cannot be used; the message and
    /// <see cref="ArgumentException.ParamName"/> name the variable.</exception>
    public static TracingOptions FromEnvironment(Func<string, string?> getenv, TracingOptions? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(getenv);
        var options = defaults ?? new TracingOptions();
        string? Get(string name) => getenv(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

        if (Get("OTEL_RESOURCE_ATTRIBUTES") is { } attributes)
        {
            var parsed = TracingValues.ParseResourceAttributes(attributes, "OTEL_RESOURCE_ATTRIBUTES");
            options = options with { ResourceAttributes = options.ResourceAttributes.SetItems(parsed) };
            if (parsed.TryGetValue("service.name", out var fromAttributes)) options = options with { ServiceName = fromAttributes };
        }

        if (Get("OTEL_SERVICE_NAME") is { } service) options = options with { ServiceName = service };

        var protocol = Get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") is { } tracesProtocol
            ? TracingValues.ParseProtocol(tracesProtocol, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            : Get("OTEL_EXPORTER_OTLP_PROTOCOL") is { } anyProtocol
                ? TracingValues.ParseProtocol(anyProtocol, "OTEL_EXPORTER_OTLP_PROTOCOL")
                : options.OtlpProtocol;
        options = options with { OtlpProtocol = protocol };

        if (Get("OTEL_EXPORTER_OTLP_ENDPOINT") is { } otlp) options = options with { OtlpEndpoint = TracingValues.ParseUrl(otlp, "OTEL_EXPORTER_OTLP_ENDPOINT") };
        if (Get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") is { } otlpTraces)
        {
            options = options with { OtlpTracesEndpoint = TracingValues.ParseUrl(otlpTraces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") };
        }

        if (Get("OTEL_EXPORTER_ZIPKIN_ENDPOINT") is { } zipkin) options = options with { ZipkinEndpoint = TracingValues.ParseUrl(zipkin, "OTEL_EXPORTER_ZIPKIN_ENDPOINT") };

        if (Get("OTEL_TRACES_EXPORTER") is { } exporters)
        {
            options = options with { Exporters = TracingValues.ParseExporters(exporters, "OTEL_TRACES_EXPORTER") };
        }
        else if (Get("OTEL_EXPORTER_OTLP_ENDPOINT") is not null || Get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") is not null)
        {
            options = options with { Exporters = options.Exporters | TraceExporters.Otlp };
        }

        if (Get("OTEL_TRACES_SAMPLER") is { } sampler)
        {
            var (ratio, parentBased) = TracingValues.ParseSampler(sampler, Get("OTEL_TRACES_SAMPLER_ARG"), "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG");
            options = options with { SamplingRatio = ratio, ParentBased = parentBased };
        }

        if (Get("OTEL_BSP_SCHEDULE_DELAY") is { } delay) options = options with { BatchScheduleDelay = TimeSpan.FromMilliseconds(TracingValues.ParsePositiveInt(delay, "OTEL_BSP_SCHEDULE_DELAY")) };
        if (Get("OTEL_BSP_EXPORT_TIMEOUT") is { } timeout) options = options with { ExportTimeout = TimeSpan.FromMilliseconds(TracingValues.ParsePositiveInt(timeout, "OTEL_BSP_EXPORT_TIMEOUT")) };
        if (Get("OTEL_BSP_MAX_QUEUE_SIZE") is { } queue) options = options with { BatchMaxQueueSize = TracingValues.ParsePositiveInt(queue, "OTEL_BSP_MAX_QUEUE_SIZE") };
        if (Get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") is { } batch) options = options with { BatchMaxExportSize = TracingValues.ParsePositiveInt(batch, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE") };
        if (options.BatchMaxExportSize > options.BatchMaxQueueSize)
        {
            throw new ArgumentException(
                $"OTEL_BSP_MAX_EXPORT_BATCH_SIZE ({options.BatchMaxExportSize}) must not exceed OTEL_BSP_MAX_QUEUE_SIZE ({options.BatchMaxQueueSize})",
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
        }

        // The specification's kill switch: every signal off, whatever the rest says.
        if (Get("OTEL_SDK_DISABLED") is { } disabled && TracingValues.ParseBool(disabled, "OTEL_SDK_DISABLED"))
        {
            options = options with { Exporters = TraceExporters.None };
        }

        return options;
    }

    /// <summary>The command-line flags <see cref="WithFlag"/> understands, with their help text, for a CLI to register.</summary>
    public static IReadOnlyList<TracingFlag> Flags { get; } =
    [
        new("tracing-exporter", "Where spans go: otlp, zipkin, none, or a comma list. Overrides OTEL_TRACES_EXPORTER."),
        new("tracing-service-name", "The service name spans carry. Overrides OTEL_SERVICE_NAME."),
        new("tracing-sample-ratio", "The fraction (0 to 1) of new traces recorded; a request that arrives with a decision keeps it."),
        new("tracing-otlp-endpoint", "The OTLP endpoint: for http/protobuf the base URL (traces go to /v1/traces), for grpc the server URL."),
        new("tracing-otlp-protocol", "The OTLP transport: grpc or http/protobuf. Overrides OTEL_EXPORTER_OTLP_PROTOCOL."),
        new("tracing-zipkin-endpoint", "The Zipkin collector URL (a URL without a path means its /api/v2/spans)."),
    ];

    /// <summary>
    /// These options with one command-line flag applied (name without dashes, one of <see cref="Flags"/>). Flags win
    /// over the environment: apply them after <see cref="FromEnvironment"/>. Setting an endpoint flag does not turn its
    /// exporter on; <c>-tracing-exporter</c> does.
    /// </summary>
    /// <exception cref="ArgumentException">The flag is unknown or its value cannot be used; the message names the flag.</exception>
    public TracingOptions WithFlag(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        return WithSetting(name, value, "-" + name.TrimStart('-'));
    }

    /// <summary>
    /// These options with one setting applied, as <see cref="WithFlag"/> does, but naming <paramref name="setting"/> in
    /// errors: a program that takes the same settings from a config file (the agent's <c>tracing</c> block) reports
    /// the key that was written, not a flag that was not.
    /// </summary>
    /// <param name="name">The flag's name without dashes, one of <see cref="Flags"/>.</param>
    /// <param name="value">The value as written.</param>
    /// <param name="setting">What the user wrote it as, e.g. <c>tracing.exporter</c>.</param>
    /// <exception cref="ArgumentException">The name is unknown or the value cannot be used; the message names <paramref name="setting"/>.</exception>
    public TracingOptions WithSetting(string name, string value, string setting)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(setting);
        var flag = setting;
        value = value.Trim();
        return name.TrimStart('-') switch
        {
            "tracing-exporter" => this with { Exporters = TracingValues.ParseExporters(value, flag) },
            "tracing-service-name" => string.IsNullOrEmpty(value)
                ? throw new ArgumentException($"{flag}: the service name must not be empty", flag)
                : this with { ServiceName = value },
            "tracing-sample-ratio" => this with { SamplingRatio = TracingValues.ParseRatio(value, flag), ParentBased = true },
            "tracing-otlp-endpoint" => this with { OtlpEndpoint = TracingValues.ParseUrl(value, flag), OtlpTracesEndpoint = null },
            "tracing-otlp-protocol" => this with { OtlpProtocol = TracingValues.ParseProtocol(value, flag) },
            "tracing-zipkin-endpoint" => this with { ZipkinEndpoint = TracingValues.ParseUrl(value, flag) },
            _ => throw new ArgumentException($"{flag} is not a tracing setting", nameof(name)),
        };
    }

    /// <summary>
    /// The message of a setting's <see cref="ArgumentException"/> as a person should read it: the text that names the
    /// setting, without the <c>(Parameter '...')</c> suffix .NET appends.
    /// </summary>
    public static string ErrorText(ArgumentException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var message = error.Message;
        if (error.ParamName is { } name)
        {
            var suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message[..^suffix.Length];
        }

        return message;
    }

    /// <summary>These options with every flag in <paramref name="flags"/> applied in order.</summary>
    /// <exception cref="ArgumentException">A flag is unknown or its value cannot be used.</exception>
    public TracingOptions WithFlags(IEnumerable<KeyValuePair<string, string>> flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        var options = this;
        foreach (var (name, value) in flags)
        {
            options = options.WithFlag(name, value);
        }

        return options;
    }

    private static Uri AppendPath(Uri baseUri, string relative)
    {
        var builder = new UriBuilder(baseUri);
        builder.Path = builder.Path.EndsWith('/') ? builder.Path + relative : builder.Path + "/" + relative;
        return builder.Uri;
    }

    private static void CheckUrl(Uri? url, string name)
    {
        if (url is not null && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            throw new ArgumentException($"{url} is not an absolute http or https URL", name);
        }
    }
}

/// <summary>A tracing command-line flag: its name without the dash, and its help.</summary>
/// <param name="Name">The flag's name, e.g. <c>tracing-exporter</c>.</param>
/// <param name="Help">One line of help.</param>
public sealed record TracingFlag(string Name, string Help);
