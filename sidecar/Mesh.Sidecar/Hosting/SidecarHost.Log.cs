using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Hosting;

internal sealed partial class SidecarHost
{
    [LoggerMessage(Level = LogLevel.Information, Message = "mesh connect proxy: {ProxyId} admin on {AdminAddress}, xDS from {AgentAddress}")]
    private static partial void LogStarted(ILogger logger, string proxyId, string adminAddress, string agentAddress);

    [LoggerMessage(Level = LogLevel.Information, Message = "tracing: spans as service {Service} to {Destinations}, sampling {Ratio} of new traces")]
    private static partial void LogTracing(ILogger logger, string service, string destinations, double ratio);

        [LoggerMessage(Level = LogLevel.Information, Message = "ready: {Count} listeners bound from the first complete configuration")]
    private static partial void LogReady(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "warming: {HeldBack}")]
    private static partial void LogWarming(ILogger logger, string heldBack);

    [LoggerMessage(Level = LogLevel.Error, Message = "applying listeners failed, retried with the next configuration: {Error}")]
    private static partial void LogApplyFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "shutting down: draining connections for up to {DrainMs} ms")]
    private static partial void LogDraining(ILogger logger, long drainMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "draining failed")]
    private static partial void LogDrainFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "mesh connect proxy: {ProxyId} stopped")]
    private static partial void LogStopped(ILogger logger, string proxyId);
}
