using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;

namespace Mesh.Tracing;

/// <summary>
/// OpenTelemetry's OTLP trace exporter, exporting at background priority (<see cref="ExportThreadPriority"/>) like
/// <see cref="ZipkinExporter"/>. Everything else, the wire format and the transport included, is the package's.
/// </summary>
internal sealed class OtlpExporter : OtlpTraceExporter
{
    public OtlpExporter(OtlpExporterOptions options)
        : base(options)
    {
    }

    /// <inheritdoc />
    public override ExportResult Export(in Batch<Activity> activityBatch)
    {
        ExportThreadPriority.LowerForExportThread();
        return base.Export(in activityBatch);
    }
}
