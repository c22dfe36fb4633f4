using Microsoft.Extensions.Logging;

namespace Mesh.Xds.Grpc;

public sealed partial class GrpcServer
{
    [LoggerMessage(Level = LogLevel.Error, Message = "gRPC handler of {Method} (peer {Peer}) threw; the call ends with INTERNAL")]
    private partial void LogHandlerFailed(Exception exception, string method, string peer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "gRPC request for {Method} refused: {Reason}")]
    private partial void LogRefused(string method, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "gRPC call for unknown method {Method} from {Peer}")]
    private partial void LogUnknownMethod(string method, string peer);

    [LoggerMessage(Level = LogLevel.Debug, Message = "gRPC call {Method} ended by cancellation with {Status} ({Error})")]
    private partial void LogCallCancelled(string method, StatusCode status, string error);
}
