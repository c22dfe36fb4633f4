using System.Globalization;
using Mesh.Tracing;

namespace Mesh.Agent.Config;

/// <summary>
/// The agent's <c>tracing</c> block (and the <c>-tracing-*</c> flags, which win key by key): the values as written,
/// each already checked. Unset keys are null and leave what the <c>OTEL_*</c> environment or the defaults say, so
/// the order is environment, then config files, then flags.
/// </summary>
public sealed record TracingSettings
{
    /// <summary>The config keys in the block, each with the <see cref="TracingOptions.Flags"/> name it sets.</summary>
    internal static readonly IReadOnlyList<(string Key, string Flag)> Keys =
    [
        ("exporter", "tracing-exporter"),
        ("service_name", "tracing-service-name"),
        ("sample_ratio", "tracing-sample-ratio"),
        ("otlp_endpoint", "tracing-otlp-endpoint"),
        ("otlp_protocol", "tracing-otlp-protocol"),
        ("zipkin_endpoint", "tracing-zipkin-endpoint"),
    ];

    /// <summary><c>exporter</c>: <c>otlp</c>, <c>zipkin</c>, <c>none</c>, or a comma list.</summary>
    public string? Exporter { get; init; }

    /// <summary><c>service_name</c>: the <c>service.name</c> of the agent's spans.</summary>
    public string? ServiceName { get; init; }

    /// <summary><c>sample_ratio</c>: the fraction (0 to 1) of new traces recorded, as text.</summary>
    public string? SampleRatio { get; init; }

    /// <summary><c>otlp_endpoint</c>: the OTLP base URL.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary><c>otlp_protocol</c>: <c>grpc</c> or <c>http/protobuf</c>.</summary>
    public string? OtlpProtocol { get; init; }

    /// <summary><c>zipkin_endpoint</c>: the Zipkin collector URL.</summary>
    public string? ZipkinEndpoint { get; init; }

    /// <summary>The value set for a flag name (<c>tracing-exporter</c>...), or null.</summary>
    internal string? Get(string flag) => flag switch
    {
        "tracing-exporter" => Exporter,
        "tracing-service-name" => ServiceName,
        "tracing-sample-ratio" => SampleRatio,
        "tracing-otlp-endpoint" => OtlpEndpoint,
        "tracing-otlp-protocol" => OtlpProtocol,
        "tracing-zipkin-endpoint" => ZipkinEndpoint,
        _ => throw new ArgumentOutOfRangeException(nameof(flag), flag, "not a tracing flag"),
    };

    /// <summary>These settings with the value for a flag name (<c>tracing-exporter</c>...) replaced; the caller has checked it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="flag"/> is not one of the six tracing flags.</exception>
    public TracingSettings With(string flag, string value) => flag switch
    {
        "tracing-exporter" => this with { Exporter = value },
        "tracing-service-name" => this with { ServiceName = value },
        "tracing-sample-ratio" => this with { SampleRatio = value },
        "tracing-otlp-endpoint" => this with { OtlpEndpoint = value },
        "tracing-otlp-protocol" => this with { OtlpProtocol = value },
        "tracing-zipkin-endpoint" => this with { ZipkinEndpoint = value },
        _ => throw new ArgumentOutOfRangeException(nameof(flag), flag, "not a tracing flag"),
    };

    /// <summary>
    /// <paramref name="options"/> (built from the defaults and the environment) with every value set here applied
    /// on top.
    /// </summary>
    /// <exception cref="ArgumentException">A value cannot be used (only when it was not checked on the way in); the
    /// message names its key.</exception>
    public TracingOptions ApplyTo(TracingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (key, flag) in Keys)
        {
            if (Get(flag) is { } value) options = options.WithSetting(flag, value, "tracing." + key);
        }

        return options;
    }

    /// <summary>Reads a number as the invariant text the tracing parsers take.</summary>
    internal static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
