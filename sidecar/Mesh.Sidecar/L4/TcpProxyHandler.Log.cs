using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.L4;

internal sealed partial class TcpProxyHandler
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "{Listener}: connection {ConnectionId} closed: the TCP proxy names no cluster")]
        public static partial void NoCluster(ILogger logger, string listener, string connectionId);

        [LoggerMessage(2, LogLevel.Warning, "{Listener}: connection {ConnectionId} closed: no healthy endpoint in cluster {Cluster}")]
        public static partial void NoEndpoint(ILogger logger, string listener, string connectionId, string cluster);

        [LoggerMessage(3, LogLevel.Warning, "{Listener}: connection {ConnectionId}: {Error}")]
        public static partial void ConnectFailed(ILogger logger, string listener, string connectionId, string error);

        [LoggerMessage(4, LogLevel.Debug, "{Listener}: connection {ConnectionId} ended: {Reason}")]
        public static partial void ConnectionEnded(ILogger logger, string listener, string connectionId, string reason);
    }
}
