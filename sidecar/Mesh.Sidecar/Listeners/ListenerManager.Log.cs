using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Listeners;

internal sealed partial class ListenerManager
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "listener {Listener} bound to {Address}")]
        public static partial void ListenerAdded(ILogger logger, string listener, string address);

        [LoggerMessage(2, LogLevel.Information, "listener {Listener} on {Address} removed; its connections are draining")]
        public static partial void ListenerRemoved(ILogger logger, string listener, string address);

        [LoggerMessage(3, LogLevel.Debug, "listener {Listener}: TLS handshake with {Remote} failed")]
        public static partial void TlsFailed(ILogger logger, string listener, string remote);

        [LoggerMessage(4, LogLevel.Information, "listener {Listener}: connection from {Principal} denied by RBAC ({Policy})")]
        public static partial void RbacDenied(ILogger logger, string listener, string principal, string policy);

        [LoggerMessage(5, LogLevel.Debug, "listener {Listener}: {Error}")]
        public static partial void ConnectionFailed(ILogger logger, string listener, string error);
    }
}
