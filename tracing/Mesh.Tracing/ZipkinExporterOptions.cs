namespace Mesh.Tracing;

/// <summary>Where and how <see cref="ZipkinExporter"/> sends spans.</summary>
public sealed record ZipkinExporterOptions
{
    /// <summary>The full collector URL, normally ending in <c>/api/v2/spans</c>.</summary>
    public Uri Endpoint { get; init; } = TracingOptions.DefaultZipkinEndpoint;

    /// <summary>How long one POST may take before the batch counts as failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The local service name when the tracer provider's resource has no <c>service.name</c> (for instance when the
    /// exporter runs outside a provider).
    /// </summary>
    public string ServiceName { get; init; } = "unknown_service";
}
