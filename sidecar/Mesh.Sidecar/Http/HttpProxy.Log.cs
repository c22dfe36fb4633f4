using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Http;

internal sealed partial class HttpProxy
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Request on listener {Listener} failed inside the proxy")]
        public static partial void RequestFailed(ILogger logger, string listener, Exception exception);

        [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Upstream {Endpoint} of cluster {Cluster}: {Kind}: {Detail}")]
        public static partial void UpstreamFailed(ILogger logger, string cluster, string endpoint, string kind, string detail);

        [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Retrying request to cluster {Cluster} after attempt {Attempt} on {Endpoint}: {Reason}")]
        public static partial void Retrying(ILogger logger, string cluster, string endpoint, int attempt, string reason);
    }
}
