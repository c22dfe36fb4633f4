using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Mesh.Tracing;

/// <summary>
/// The one place a Mesh process (agent, sidecar, demo service) turns tracing on: an OpenTelemetry tracer provider
/// that records the configured <see cref="ActivitySource"/>s, samples them, and exports them over OTLP and/or Zipkin.
/// </summary>
/// <example>
/// <code>
/// using var tracing = MeshTracing.Configure(TracingOptions.FromEnvironment(Environment.GetEnvironmentVariable)
///     with { ServiceName = "counting" });
/// </code>
/// </example>
public static class MeshTracing
{
    /// <summary>
    /// Starts tracing as <paramref name="options"/> say and returns the handle that stops it; dispose the handle at
    /// shutdown so the spans still in the batch are sent. With no exporter nothing is started: no listener is
    /// attached, so <see cref="ActivitySource.StartActivity(string, ActivityKind)"/> keeps returning null and costs
    /// almost nothing.
    /// </summary>
    /// <param name="options">What to record and where to send it.</param>
    /// <param name="loggerFactory">Where export failures of the Zipkin exporter are logged; the OTLP exporter reports
    /// through OpenTelemetry's own event source.</param>
    /// <exception cref="ArgumentException">The options are inconsistent.</exception>
    public static MeshTracer Configure(TracingOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Exporters == TraceExporters.None) return new MeshTracer(null, options);

        var builder = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(CreateResource(options))
            .SetSampler(CreateSampler(options));
        foreach (var source in options.Sources)
        {
            builder.AddSource(source);
        }

        if (options.Exporters.HasFlag(TraceExporters.Otlp))
        {
            var otlp = new OtlpExporterOptions
            {
                Protocol = options.OtlpProtocol == OtlpProtocol.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf,
                // Set explicitly, the endpoint is used exactly: ResolveOtlpTracesEndpoint already applied the
                // specification's /v1/traces rule, and the exporter must not apply it a second time.
                Endpoint = options.ResolveOtlpTracesEndpoint(),
                TimeoutMilliseconds = ToMilliseconds(options.ExportTimeout),
            };
            builder.AddProcessor(BatchProcessor(new OtlpExporter(otlp), options));
        }

        if (options.Exporters.HasFlag(TraceExporters.Zipkin))
        {
            var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ZipkinExporter>();
            var exporter = new ZipkinExporter(new ZipkinExporterOptions
            {
                Endpoint = options.ResolveZipkinEndpoint(),
                Timeout = options.ExportTimeout,
                ServiceName = options.ServiceName,
            }, logger);
            builder.AddProcessor(BatchProcessor(exporter, options));
        }

        return new MeshTracer(builder.Build(), options);
    }

    /// <summary>The batching the options describe, in front of <paramref name="exporter"/>.</summary>
    private static BatchActivityExportProcessor BatchProcessor(BaseExporter<Activity> exporter, TracingOptions options) =>
        new(exporter, options.BatchMaxQueueSize, ToMilliseconds(options.BatchScheduleDelay), ToMilliseconds(options.ExportTimeout), options.BatchMaxExportSize);

    /// <summary>The sampler the options describe: a ratio for new traces, optionally behind the parent's decision.</summary>
    internal static Sampler CreateSampler(TracingOptions options)
    {
        Sampler root = options.SamplingRatio switch
        {
            >= 1 => new AlwaysOnSampler(),
            <= 0 => new AlwaysOffSampler(),
            var ratio => new TraceIdRatioBasedSampler(ratio),
        };
        return options.ParentBased ? new ParentBasedSampler(root) : root;
    }

    private static ResourceBuilder CreateResource(TracingOptions options)
    {
        // Built from the options alone (not ResourceBuilder.CreateDefault, which reads the process environment
        // again), so FromEnvironment stays the one reader of OTEL_* variables.
        var attributes = options.ResourceAttributes
            .Where(pair => pair.Key != "service.name")
            .Select(pair => new KeyValuePair<string, object>(pair.Key, pair.Value));
        return ResourceBuilder.CreateEmpty()
            .AddService(options.ServiceName)
            .AddTelemetrySdk()
            .AddAttributes(attributes);
    }

    private static int ToMilliseconds(TimeSpan span) => (int)Math.Clamp(span.TotalMilliseconds, 1, int.MaxValue);
}

/// <summary>
/// Running tracing, from <see cref="MeshTracing.Configure"/>. Disposing it flushes the spans still batched (within
/// the export timeout) and detaches from the sources.
/// </summary>
public sealed class MeshTracer : IDisposable
{
    private readonly TracerProvider? _provider;

    internal MeshTracer(TracerProvider? provider, TracingOptions options)
    {
        _provider = provider;
        Options = options;
    }

    /// <summary>The options this tracer was started with.</summary>
    public TracingOptions Options { get; }

    /// <summary>Whether spans are recorded and exported at all.</summary>
    public bool Enabled => _provider is not null;

    /// <summary>The OpenTelemetry provider, when <see cref="Enabled"/>; for hosts that add their own processors.</summary>
    public TracerProvider? Provider => _provider;

    /// <summary>
    /// Exports every finished span now and waits for the exporters; true when all of them succeeded within
    /// <paramref name="timeout"/>. Call it before a short-lived process exits, or where a test awaits delivery.
    /// </summary>
    public bool ForceFlush(TimeSpan timeout) =>
        _provider is null || _provider.ForceFlush((int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue));

    /// <summary>Flushes and shuts the exporters down.</summary>
    public void Dispose() => _provider?.Dispose();
}
