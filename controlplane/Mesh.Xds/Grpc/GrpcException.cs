namespace Mesh.Xds.Grpc;

/// <summary>
/// A gRPC call ended with a non-OK status. A server handler throws it to end its call with that status; the client
/// throws it when a call it made ends with one.
/// </summary>
public sealed class GrpcException : Exception
{
    /// <summary>Creates the exception for <paramref name="code"/> with the detail <paramref name="message"/>.</summary>
    public GrpcException(StatusCode code, string message)
        : this(new GrpcStatus(code, message ?? ""), null)
    {
    }

    /// <summary>Creates the exception for <paramref name="status"/>, with the trailers the call ended with, if any.</summary>
    public GrpcException(GrpcStatus status, GrpcMetadata? trailers = null, Exception? innerException = null)
        : base(status.Detail.Length == 0 ? $"gRPC status {status.Code}" : $"gRPC status {status.Code}: {status.Detail}", innerException)
    {
        Status = status;
        Trailers = trailers ?? GrpcMetadata.Empty;
    }

    /// <summary>The status the call ended with.</summary>
    public GrpcStatus Status { get; }

    /// <summary>The status code.</summary>
    public StatusCode StatusCode => Status.Code;

    /// <summary>The trailing metadata the call ended with (client side); empty otherwise.</summary>
    public GrpcMetadata Trailers { get; }
}
