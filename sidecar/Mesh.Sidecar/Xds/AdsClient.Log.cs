using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Xds;

internal sealed partial class AdsClient
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "opening an ADS stream to {Address} as node {NodeId}")]
    private static partial void LogConnecting(ILogger logger, Uri address, string nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "ADS stream to {Address} is up")]
    private static partial void LogConnected(ILogger logger, Uri address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ADS stream to {Address} ended: {Reason}; serving the last accepted configuration")]
    private static partial void LogStreamEnded(ILogger logger, Uri address, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ADS stream to {Address} failed: {Error}; serving the last accepted configuration")]
    private static partial void LogStreamFailed(ILogger logger, Uri address, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "reconnecting to {Address} in {DelayMs} ms")]
    private static partial void LogReconnecting(ILogger logger, Uri address, long delayMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "accepted {Type} version {Version} ({Count} resources)")]
    private static partial void LogAccepted(ILogger logger, string type, string version, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rejected {Type} version {Version}, keeping version \"{KeptVersion}\": {Error}")]
    private static partial void LogRejected(ILogger logger, string type, string version, string keptVersion, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "translating {Type} version {Version} failed unexpectedly")]
    private static partial void LogTranslatorFailed(ILogger logger, Exception exception, string type, string version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "subscribing {Type} to [{Names}]")]
    private static partial void LogSubscribing(ILogger logger, string type, string names);
}
