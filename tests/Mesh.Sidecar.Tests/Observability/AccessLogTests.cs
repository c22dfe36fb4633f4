using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Tests.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Observability;

public class AccessLogTests
{
    [Fact]
    public void Write_Entry_OneLineWithEveryField()
    {
        var logs = new CapturingLogs();
        var logger = logs.CreateLogger(AccessLog.Category);

        AccessLog.Write(logger, "public_listener", new AccessLogEntry("GET", "/a?b=1", "HTTP/2", 503, "UH", 0, 19, 1.25, "-", "api", "rid", "-"));

        var (_, message, state) = Assert.Single(logs.Entries);
        Assert.Equal("[public_listener] \"GET /a?b=1 HTTP/2\" 503 UH 0 19 1.25 \"-\" \"api\" \"rid\" \"-\"", message);
        Assert.Contains(state, kv => kv.Key == "Flags" && (string?)kv.Value == "UH");
    }

    [Fact]
    public void Write_InformationDisabled_NothingLogged()
    {
        var logs = new CapturingLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Warning));

        AccessLog.Write(factory.CreateLogger(AccessLog.Category), "l", new AccessLogEntry("GET", "/", "HTTP/1.1", 200, "-", 0, 0, 1, "-", "-", "-", "-"));

        Assert.Empty(logs.Entries);
    }
}
