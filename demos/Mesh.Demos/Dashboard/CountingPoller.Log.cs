namespace Mesh.Demos.Dashboard;

internal sealed partial class CountingPoller
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "counting is reachable at {Url}: count {Count} from {Hostname}")]
        public static partial void Reachable(ILogger logger, string url, long count, string hostname);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "counting is unreachable at {Url}: {Reason}")]
        public static partial void Unreachable(ILogger logger, string url, string reason);
    }
}
