using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;

namespace Mesh.Xds.Grpc;

/// <summary>
/// A request body that stays open: SocketsHttpHandler hands over the HTTP/2 request stream when it starts sending
/// the body, the call writes frames to it as the application produces them, and the body ends (END_STREAM, the
/// client's half-close) when <see cref="Complete"/> is called.
/// </summary>
internal sealed class DuplexRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public DuplexRequestContent() => Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);

    /// <summary>The request stream, once the handler has started sending the body.</summary>
    public Task<Stream> Stream => _stream.Task;

    /// <summary>Ends the request body normally.</summary>
    public void Complete() => _done.TrySetResult();

    /// <summary>Fails the body (the call is over or cancelled): a writer waiting for the stream stops waiting.</summary>
    public void Abort(Exception reason)
    {
        _stream.TrySetException(reason);
        _done.TrySetException(reason);
        // Nobody may be waiting on either task any more; reading the exception marks it observed, so an ended call
        // does not surface later as an unobserved task exception.
        _ = _stream.Task.Exception;
        _ = _done.Task.Exception;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        // The handler cancels this token when the response ends or the request is reset, which ends the body too.
        await _done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
