using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Mesh.Xds.Grpc;

/// <summary>
/// Length-prefixed gRPC messages on a byte stream: a compressed-flag byte, a 4-byte big-endian length, then the
/// protobuf bytes. Shared by the server (request bodies) and the client (response bodies).
/// </summary>
internal static class GrpcFrames
{
    /// <summary>
    /// Reads the next message. Returns null when the stream ends cleanly between messages.
    /// </summary>
    /// <exception cref="GrpcException"><see cref="StatusCode.ResourceExhausted"/> for a message over
    /// <paramref name="maxMessageSize"/>; <see cref="StatusCode.Internal"/> for a compressed message (this
    /// implementation negotiates no compression), a frame cut short, or bytes that are not a valid message.</exception>
    public static async ValueTask<T?> ReadMessageAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageSize,
        CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("the read was cancelled", cancellationToken);
            }

            var buffer = result.Buffer;
            if (TryParse(buffer, parser, maxMessageSize, out var message, out var consumed))
            {
                reader.AdvanceTo(consumed);
                return message;
            }

            if (result.IsCompleted)
            {
                // Described before AdvanceTo: the buffer's memory goes back to the pipe's pool then.
                var incomplete = buffer.Length == 0 ? null : IncompleteMessage(buffer);
                reader.AdvanceTo(buffer.End);
                if (incomplete is null)
                {
                    return null;
                }

                throw new GrpcException(StatusCode.Internal, incomplete);
            }

            // Nothing consumed, everything examined: wake up only when more bytes arrive.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Writes one uncompressed frame for <paramref name="message"/> into <paramref name="writer"/>.</summary>
    /// <exception cref="GrpcException"><see cref="StatusCode.ResourceExhausted"/> when the message is over
    /// <paramref name="maxMessageSize"/>.</exception>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message, int maxMessageSize)
    {
        var size = message.CalculateSize();
        if (size > maxMessageSize)
        {
            throw new GrpcException(StatusCode.ResourceExhausted,
                $"message of {size} bytes is larger than the send limit of {maxMessageSize} bytes");
        }

        var header = writer.GetSpan(GrpcProtocol.FrameHeaderSize);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)size);
        writer.Advance(GrpcProtocol.FrameHeaderSize);
        if (size > 0)
        {
            message.WriteTo(writer);
        }
    }

    /// <summary>Encodes one frame into a new array (a unary request body).</summary>
    public static byte[] EncodeMessage(IMessage message, int maxMessageSize)
    {
        var size = message.CalculateSize();
        if (size > maxMessageSize)
        {
            throw new GrpcException(StatusCode.ResourceExhausted,
                $"message of {size} bytes is larger than the send limit of {maxMessageSize} bytes");
        }

        var frame = new byte[GrpcProtocol.FrameHeaderSize + size];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)size);
        message.WriteTo(frame.AsSpan(GrpcProtocol.FrameHeaderSize));
        return frame;
    }

    private static bool TryParse<T>(in ReadOnlySequence<byte> buffer, MessageParser<T> parser, int maxMessageSize,
        out T? message, out SequencePosition consumed)
        where T : class, IMessage<T>
    {
        message = null;
        consumed = buffer.Start;
        if (buffer.Length < GrpcProtocol.FrameHeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[GrpcProtocol.FrameHeaderSize];
        buffer.Slice(0, GrpcProtocol.FrameHeaderSize).CopyTo(header);
        var flag = header[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (flag == 1)
        {
            throw new GrpcException(StatusCode.Internal,
                "received a compressed message, but no grpc-encoding was negotiated (this server and client send and accept identity only)");
        }

        if (flag != 0)
        {
            throw new GrpcException(StatusCode.Internal, $"invalid gRPC frame: compressed flag is {flag}, must be 0 or 1");
        }

        // Checked on the header alone, so an oversize message is refused before any of it is buffered.
        if (length > (uint)maxMessageSize)
        {
            throw new GrpcException(StatusCode.ResourceExhausted,
                $"received message of {length} bytes is larger than the limit of {maxMessageSize} bytes");
        }

        if (buffer.Length - GrpcProtocol.FrameHeaderSize < length)
        {
            return false;
        }

        var payload = buffer.Slice(GrpcProtocol.FrameHeaderSize, length);
        try
        {
            message = parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new GrpcException(new GrpcStatus(StatusCode.Internal,
                $"could not parse {length}-byte message as {typeof(T).Name}: {ex.Message}"), null, ex);
        }

        consumed = payload.End;
        return true;
    }

    private static string IncompleteMessage(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < GrpcProtocol.FrameHeaderSize)
        {
            return $"incomplete gRPC frame: the stream ended after {buffer.Length} of the 5 header bytes";
        }

        Span<byte> header = stackalloc byte[GrpcProtocol.FrameHeaderSize];
        buffer.Slice(0, GrpcProtocol.FrameHeaderSize).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        return $"incomplete gRPC message: the stream ended after {buffer.Length - GrpcProtocol.FrameHeaderSize} of {length} bytes";
    }
}
