namespace Mesh.Demos.Hosting;

internal static partial class DemoHost
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Service} listening on {Address}")]
        public static partial void Listening(ILogger logger, string service, string address);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "tracing as {ServiceName}, exporting to {Exporters}")]
        public static partial void Tracing(ILogger logger, string serviceName, string exporters);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "{Service} stopped")]
        public static partial void Stopped(ILogger logger, string service);
    }
}
