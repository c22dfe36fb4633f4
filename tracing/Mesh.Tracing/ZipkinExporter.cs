using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Resources;

namespace Mesh.Tracing;

/// <summary>
/// Exports spans as Zipkin v2 JSON: one POST of a JSON array per batch to <see cref="ZipkinExporterOptions.Endpoint"/>
/// (Zipkin's <c>/api/v2/spans</c>, which Jaeger also serves on its Zipkin port). Put it behind a
/// <see cref="BatchActivityExportProcessor"/>; <see cref="MeshTracing.Configure"/> does.
/// </summary>
public sealed partial class ZipkinExporter : BaseExporter<Activity>
{
    private readonly ZipkinExporterOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _client;

    // Export runs on the batch processor's one thread, so one buffer serves every batch.
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private string? _serviceName;

    /// <summary>Creates the exporter.</summary>
    /// <param name="options">The collector URL and timeout.</param>
    /// <param name="logger">Where failed exports are reported.</param>
    public ZipkinExporter(ZipkinExporterOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Endpoint.IsAbsoluteUri) throw new ArgumentException("the Zipkin endpoint must be an absolute URL", nameof(options));
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
        {
            Timeout = options.Timeout,
        };
    }

    /// <inheritdoc />
    public override ExportResult Export(in Batch<Activity> batch)
    {
        ExportThreadPriority.LowerForExportThread();
        // The exporter's own HTTP call must not be traced, or every export would produce spans to export.
        using var suppress = SuppressInstrumentationScope.Begin();
        var serviceName = _serviceName ??= ResolveServiceName();
        _buffer.ResetWrittenCount();
        int count;
        using (var writer = new Utf8JsonWriter(_buffer))
        {
            count = ZipkinSpanWriter.WriteBatch(writer, batch, serviceName);
        }

        if (count == 0) return ExportResult.Success;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _options.Endpoint)
            {
                Content = new ReadOnlyMemoryContent(_buffer.WrittenMemory),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = _client.Send(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.IsSuccessStatusCode) return ExportResult.Success;
            Log.Refused(_logger, _options.Endpoint, count, (int)response.StatusCode);
            return ExportResult.Failure;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            Log.SendFailed(_logger, _options.Endpoint, count, e);
            return ExportResult.Failure;
        }
    }

    /// <inheritdoc />
    protected override bool OnShutdown(int timeoutMilliseconds)
    {
        _client.Dispose();
        return true;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _client.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Zipkin's local service: the provider resource's <c>service.name</c>, else the options' fallback.</summary>
    private string ResolveServiceName()
    {
        var resource = ParentProvider?.GetResource() ?? Resource.Empty;
        foreach (var attribute in resource.Attributes)
        {
            if (attribute.Key == "service.name" && attribute.Value is string { Length: > 0 } name) return name;
        }

        return _options.ServiceName;
    }
}
