using System.Buffers;
using System.Net;

namespace Mesh.Sidecar.Http;

/// <summary>
/// The downstream request body as upstream request content, streamed as it arrives with a pooled buffer and flushed
/// after every read so a gRPC stream or a slow upload reaches the upstream without waiting for the whole body. Counts
/// the bytes for the access log.
/// </summary>
internal sealed class StreamingContent(Stream source, long? length) : HttpContent
{
    private int _started;

    /// <summary>Bytes copied so far.</summary>
    public long BytesCopied { get; private set; }

    /// <summary>Called after each chunk reaches the upstream (a stream's idle timer counts the client's activity too).</summary>
    public Action? OnProgress { get; set; }

    /// <summary>Called once the whole body has reached the upstream (the route timeout starts there, as in Envoy).</summary>
    public Action? OnCompleted { get; set; }

    /// <summary>True once the upstream started reading the body: from then on the request cannot be retried.</summary>
    public bool Started => Volatile.Read(ref _started) != 0;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("the request body was already sent");
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                var read = await source.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                BytesCopied += read;
                OnProgress?.Invoke();
            }

            OnCompleted?.Invoke();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length1)
    {
        length1 = length ?? 0;
        return length is not null;
    }
}
