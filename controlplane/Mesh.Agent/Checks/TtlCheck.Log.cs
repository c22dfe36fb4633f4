using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Checks;

internal sealed partial class TtlCheck
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "check {CheckId} missed its TTL ({Ttl}) and is now critical")]
    private partial void LogExpired(string checkId, TimeSpan ttl);

    [LoggerMessage(Level = LogLevel.Error, Message = "check {CheckId} status callback threw")]
    private partial void LogCallbackFailed(string checkId, Exception exception);
}
