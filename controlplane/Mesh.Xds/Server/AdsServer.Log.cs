using Microsoft.Extensions.Logging;

namespace Mesh.Xds.Server;

internal sealed partial class AdsServer
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "xDS {Protocol} stream from {Peer} opened for node {NodeId}")]
    internal static partial void LogOpened(ILogger logger, string protocol, string peer, string nodeId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "xDS {Protocol} stream from {Peer} (node {NodeId}) closed: {Reason}")]
    internal static partial void LogClosed(ILogger logger, string protocol, string peer, string nodeId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "xDS {Protocol} stream from {Peer} (node {NodeId}) ended with gRPC status {StatusCode}: {Error}")]
    internal static partial void LogRefused(ILogger logger, string protocol, string peer, string nodeId, int statusCode, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "xDS {Protocol} stream from {Peer} (node {NodeId}) failed")]
    internal static partial void LogFailed(ILogger logger, string protocol, string peer, string nodeId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {NodeId} rejected {Type} version {Version} and keeps {KeptVersion}: {Error}")]
    internal static partial void LogNack(ILogger logger, string nodeId, string type, string version, string keptVersion, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "node {NodeId} asked for {TypeUrl}, which Mesh does not serve; ignored")]
    internal static partial void LogUnsupportedType(ILogger logger, string nodeId, string typeUrl);

    [LoggerMessage(Level = LogLevel.Debug, Message = "node {NodeId} answered {Type} nonce {Nonce}, which is no longer the latest; ignored")]
    internal static partial void LogStaleNonce(ILogger logger, string nodeId, string type, string nonce);
}
