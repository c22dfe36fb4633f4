using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Upstreams;

internal sealed partial class ClusterManager
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "{Message}")]
        public static partial void ConnectFailed(ILogger logger, string message);

        [LoggerMessage(2, LogLevel.Information, "cluster {Cluster}: endpoint {Endpoint} ejected after {Failures} consecutive failures")]
        public static partial void Ejected(ILogger logger, string cluster, string endpoint, int failures);
    }
}
