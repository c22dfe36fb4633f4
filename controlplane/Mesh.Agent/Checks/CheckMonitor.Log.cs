using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Checks;

internal sealed partial class CheckMonitor
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "check {CheckId} has interval {Interval} below the minimum; using {Minimum}")]
    private partial void LogIntervalRaised(string checkId, TimeSpan interval, TimeSpan minimum);

    [LoggerMessage(Level = LogLevel.Warning, Message = "check {CheckId} probe did not finish within its timeout {Timeout}; reporting critical")]
    private partial void LogProbeOverran(string checkId, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Error, Message = "check {CheckId} probe failed unexpectedly")]
    private partial void LogProbeFailed(string checkId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "check {CheckId} returned {Status} but has not reached its threshold ({Count} of {Threshold})")]
    private partial void LogHeldBack(string checkId, string status, int count, int threshold);

    [LoggerMessage(Level = LogLevel.Debug, Message = "check {CheckId} status {Previous} -> {Status}")]
    private partial void LogStatusChanged(string checkId, string previous, string status);

    [LoggerMessage(Level = LogLevel.Error, Message = "check {CheckId} status callback threw")]
    private partial void LogCallbackFailed(string checkId, Exception exception);
}
