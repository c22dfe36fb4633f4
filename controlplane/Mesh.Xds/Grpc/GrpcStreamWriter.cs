using Google.Protobuf;

namespace Mesh.Xds.Grpc;

/// <summary>Sends a streaming call's response messages.</summary>
/// <typeparam name="T">The response message type.</typeparam>
public abstract class GrpcStreamWriter<T>
    where T : IMessage<T>
{
    /// <summary>
    /// Writes one length-prefixed message and flushes it to the client. Safe to call concurrently: writes are
    /// serialized, each message goes out whole. Completes when the message is handed to the transport (which waits
    /// for HTTP/2 flow control when the client reads slowly).
    /// </summary>
    /// <exception cref="OperationCanceledException">The call ended (client cancel, deadline, shutdown) or
    /// <paramref name="cancellationToken"/> fired.</exception>
    /// <exception cref="InvalidOperationException">The call has already completed.</exception>
    /// <exception cref="GrpcException">The message is over the send limit (<see cref="StatusCode.ResourceExhausted"/>).</exception>
    public abstract ValueTask WriteAsync(T message, CancellationToken cancellationToken = default);
}
