using Microsoft.Extensions.Logging;

namespace Mesh.Tracing;

public sealed partial class ZipkinExporter
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Zipkin collector {Endpoint} refused {Count} spans with HTTP {Status}")]
        public static partial void Refused(ILogger logger, Uri endpoint, int count, int status);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Could not send {Count} spans to the Zipkin collector {Endpoint}")]
        public static partial void SendFailed(ILogger logger, Uri endpoint, int count, Exception exception);
    }
}
