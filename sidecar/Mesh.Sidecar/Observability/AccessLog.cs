using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Observability;

/// <summary>One finished request as the access log records it.</summary>
/// <param name="Method">The request method.</param>
/// <param name="Path">The path with query, as received.</param>
/// <param name="Protocol">The downstream protocol (<c>HTTP/1.1</c>, <c>HTTP/2</c>).</param>
/// <param name="Code">The response code sent downstream (0 when the connection was reset before headers).</param>
/// <param name="Flags">Envoy-style response flags (<c>UF</c>, <c>UH</c>, <c>NR</c>, <c>UT</c>, <c>URX</c>, <c>RBAC</c>, ...), or <c>-</c>.</param>
/// <param name="BytesReceived">Request body bytes read from downstream.</param>
/// <param name="BytesSent">Response body bytes written downstream.</param>
/// <param name="DurationMs">Time from the start of handling to the end of the response.</param>
/// <param name="UpstreamHost">The endpoint that served, or <c>-</c>.</param>
/// <param name="Cluster">The upstream cluster, or <c>-</c>.</param>
/// <param name="RequestId">The <c>x-request-id</c>.</param>
/// <param name="TraceId">The trace id, or <c>-</c> when the listener does not trace.</param>
internal readonly record struct AccessLogEntry(
    string Method,
    string Path,
    string Protocol,
    int Code,
    string Flags,
    long BytesReceived,
    long BytesSent,
    double DurationMs,
    string UpstreamHost,
    string Cluster,
    string RequestId,
    string TraceId);

/// <summary>
/// The structured access log: one line per request on the <c>Mesh.Sidecar.AccessLog</c> category, every field a
/// named property so a JSON console or an OpenTelemetry log exporter keeps them apart.
/// </summary>
internal static partial class AccessLog
{
    /// <summary>The logger category, so operators can route or silence the access log alone.</summary>
    public const string Category = "Mesh.Sidecar.AccessLog";

    /// <summary>Writes <paramref name="entry"/> for <paramref name="listener"/>.</summary>
    public static void Write(ILogger logger, string listener, in AccessLogEntry entry)
    {
        if (!logger.IsEnabled(LogLevel.Information)) return;
        Request(logger, listener, entry.Method, entry.Path, entry.Protocol, entry.Code, entry.Flags, entry.BytesReceived, entry.BytesSent,
            entry.DurationMs, entry.UpstreamHost, entry.Cluster, entry.RequestId, entry.TraceId);
    }

    [LoggerMessage(EventId = 1, EventName = "AccessLog", Level = LogLevel.Information,
        Message = "[{Listener}] \"{Method} {Path} {Protocol}\" {Code} {Flags} {BytesReceived} {BytesSent} {DurationMs:0.###} \"{UpstreamHost}\" \"{Cluster}\" \"{RequestId}\" \"{TraceId}\"")]
    private static partial void Request(ILogger logger, string listener, string method, string path, string protocol, int code, string flags,
        long bytesReceived, long bytesSent, double durationMs, string upstreamHost, string cluster, string requestId, string traceId);
}
