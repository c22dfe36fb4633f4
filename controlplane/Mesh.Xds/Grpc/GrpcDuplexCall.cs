using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Mesh.Xds.Grpc;

/// <summary>
/// One client call on a <see cref="GrpcChannel"/>: an HTTP/2 stream whose request body stays open for
/// <see cref="WriteAsync"/> until <see cref="CompleteRequestsAsync"/>, and whose response messages are read with
/// <see cref="ReadAsync"/> or <see cref="ReadAllAsync"/>. The call ends with <see cref="Status"/>; cancelling or
/// disposing it before then resets the stream.
/// </summary>
/// <remarks>Writes may come from several threads (they are serialized); reads from one reader at a time.</remarks>
public sealed class GrpcDuplexCall<TRequest, TResponse> : IAsyncDisposable
    where TRequest : IMessage<TRequest> where TResponse : class, IMessage<TResponse>
{
    private readonly GrpcChannel _channel;
    private readonly MessageParser<TResponse> _parser;
    private readonly string _method;
    private readonly CancellationTokenSource _cancellation;
    private readonly CancellationTokenSource? _deadlineTimer;
    private readonly CancellationTokenRegistration _userRegistration;
    private readonly DuplexRequestContent? _content;
    private readonly Task<HttpResponseMessage>? _send;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _gate = new();
    private Task<PipeReader?>? _response;
    private HttpResponseMessage? _httpResponse;
    private GrpcStatus? _status;
    private GrpcMetadata? _trailers;
    private GrpcMetadata? _responseHeaders;
    private bool _requestsCompleted;
    private int _disposed;

    internal GrpcDuplexCall(GrpcChannel channel, string method, MessageParser<TResponse> parser, GrpcCallOptions? options, byte[]? unaryFrame)
    {
        GrpcChannel.ValidateMethod(method);
        _channel = channel;
        _parser = parser;
        _method = method;
        // Deadlines are compared with UtcNow; a local time is converted rather than misread by the offset.
        Deadline = options?.Deadline is { Kind: DateTimeKind.Local } local ? local.ToUniversalTime() : options?.Deadline;
        var userToken = options?.CancellationToken ?? default;
        _cancellation = new CancellationTokenSource();
        if (Deadline is { } deadline)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                // Nothing is sent for a call that is already late, as in other gRPC clients.
                Finish(new GrpcStatus(StatusCode.DeadlineExceeded, "the deadline had passed before the call started"), null);
                return;
            }

            if (remaining.TotalMilliseconds < uint.MaxValue - 1)
            {
                _deadlineTimer = new CancellationTokenSource(remaining);
                _deadlineTimer.Token.UnsafeRegister(static s => ((GrpcDuplexCall<TRequest, TResponse>)s!).Cancel(), this);
            }
        }

        if (userToken.CanBeCanceled)
        {
            _userRegistration = userToken.UnsafeRegister(static s => ((GrpcDuplexCall<TRequest, TResponse>)s!).Cancel(), this);
            if (userToken.IsCancellationRequested)
            {
                // Cancelled before it started (the registration ran at once): nothing goes on the wire.
                return;
            }
        }

        HttpContent content;
        if (unaryFrame is null)
        {
            _content = new DuplexRequestContent();
            content = _content;
        }
        else
        {
            content = new ByteArrayContent(unaryFrame);
            content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
            _requestsCompleted = true;
        }

        var request = channel.CreateRequest(method, content, options, Deadline);
        _send = channel.SendAsync(request, _cancellation.Token);
        // Take the response headers as soon as they come, not only when the caller reads: a call that fails before
        // its body starts (no connection, a trailers-only answer) then ends at once, and a writer waiting for the
        // request stream is released with that status instead of waiting forever.
        _ = EnsureResponseAsync();
    }

    /// <summary>The method path.</summary>
    public string Method => _method;

    /// <summary>The call's deadline (UTC), if it has one.</summary>
    public DateTime? Deadline { get; }

    /// <summary>The final status, once the call has ended; null while it runs.</summary>
    public GrpcStatus? Status
    {
        get
        {
            lock (_gate)
            {
                return _status;
            }
        }
    }

    /// <summary>The trailing metadata (the status headers removed), once the call has ended.</summary>
    public GrpcMetadata? Trailers
    {
        get
        {
            lock (_gate)
            {
                return _trailers;
            }
        }
    }

    /// <summary>Writes one request message and flushes it to the server.</summary>
    /// <exception cref="InvalidOperationException">The requests were completed, or this is a unary call.</exception>
    /// <exception cref="GrpcException">The call has ended (its status), was cancelled, or the stream failed.</exception>
    public async ValueTask WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfFailed();
        if (_content is null)
        {
            throw new InvalidOperationException(_send is null
                ? "the call ended before it started; nothing can be written"
                : "a unary call sends its one request when it starts");
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        byte[]? buffer = null;
        try
        {
            if (_requestsCompleted)
            {
                throw new InvalidOperationException("the requests of this call have been completed; nothing more can be written");
            }

            if (Status is { } ended)
            {
                throw ended.Code == StatusCode.OK
                    ? new InvalidOperationException("the server has ended the call; nothing more can be written")
                    : new GrpcException(ended, Trailers);
            }

            var size = message.CalculateSize();
            if (size > _channel.Options.MaxSendMessageSize)
            {
                throw new GrpcException(StatusCode.ResourceExhausted,
                    $"message of {size} bytes is larger than the send limit of {_channel.Options.MaxSendMessageSize} bytes");
            }

            var length = GrpcProtocol.FrameHeaderSize + size;
            buffer = ArrayPool<byte>.Shared.Rent(length);
            buffer[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1), (uint)size);
            message.WriteTo(buffer.AsSpan(GrpcProtocol.FrameHeaderSize, size));

            // Cancelling a write part-way would leave half a frame on the stream, so it cancels the whole call.
            using var registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static s => ((GrpcDuplexCall<TRequest, TResponse>)s!).Cancel(), this)
                : default;
            try
            {
                var token = _cancellation.Token;
                var stream = await _content.Stream.WaitAsync(token).ConfigureAwait(false);
                await stream.WriteAsync(buffer.AsMemory(0, length), token).ConfigureAwait(false);
                await stream.FlushAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Whatever the transport threw (a reset, the aborted body), the call's status explains it best.
                throw await WriteFailureAsync(ex).ConfigureAwait(false);
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            _writeLock.Release();
        }
    }

    /// <summary>Half-closes the call: no more requests; the server sees the end of its request stream.</summary>
    public async Task CompleteRequestsAsync()
    {
        if (_content is null)
        {
            return;
        }

        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _requestsCompleted = true;
            _content.Complete();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The response headers (metadata), once the server has sent them.</summary>
    /// <exception cref="GrpcException">The call ended before the server sent headers, with a status other than OK.</exception>
    public async Task<GrpcMetadata> ResponseHeadersAsync()
    {
        await EnsureResponseAsync().ConfigureAwait(false);
        lock (_gate)
        {
            if (_responseHeaders is not null)
            {
                return _responseHeaders;
            }
        }

        ThrowIfFailed();
        return GrpcMetadata.Empty;
    }

    /// <summary>
    /// Reads the next response message; null once the server has ended the call with OK. One reader at a time.
    /// Cancelling <paramref name="cancellationToken"/> cancels the call.
    /// </summary>
    /// <exception cref="GrpcException">The call ended with a status other than OK.</exception>
    public async ValueTask<TResponse?> ReadAsync(CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((GrpcDuplexCall<TRequest, TResponse>)s!).Cancel(), this)
            : default;
        var body = await EnsureResponseAsync().ConfigureAwait(false);
        if (body is null || Status is not null)
        {
            ThrowIfFailed();
            return null;
        }

        TResponse? message;
        try
        {
            message = await GrpcFrames.ReadMessageAsync(body, _parser, _channel.Options.MaxReceiveMessageSize, _cancellation.Token)
                .ConfigureAwait(false);
        }
        catch (GrpcException ex)
        {
            Finish(ex.Status, null);
            await body.CompleteAsync().ConfigureAwait(false);
            throw;
        }
        catch (Exception ex)
        {
            var status = FailureStatus(ex);
            Finish(status, null);
            await body.CompleteAsync().ConfigureAwait(false);
            throw new GrpcException(status, null, ex);
        }

        if (message is not null)
        {
            return message;
        }

        // The reader is this method's to finish: it gives its pooled buffers back once the response has ended.
        await body.CompleteAsync().ConfigureAwait(false);
        FinishFromTrailers();
        ThrowIfFailed();
        return null;
    }

    /// <summary>Every response message until the call ends with OK; a non-OK end throws <see cref="GrpcException"/>.</summary>
    public async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await ReadAsync(cancellationToken).ConfigureAwait(false) is { } message)
        {
            yield return message;
        }
    }

    /// <summary>Cancels the call: the stream is reset and the call ends with CANCELLED (or DEADLINE_EXCEEDED past its deadline).</summary>
    public void Cancel()
    {
        var deadline = _deadlineTimer?.IsCancellationRequested == true;
        Finish(deadline
            ? new GrpcStatus(StatusCode.DeadlineExceeded, "the deadline passed")
            : new GrpcStatus(StatusCode.Cancelled, "the call was cancelled by the client"), null);
    }

    /// <summary>Ends the call: a call still running is cancelled (its stream reset).</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        Cancel();
        _userRegistration.Dispose();
        _deadlineTimer?.Dispose();
        return ValueTask.CompletedTask;
    }

    private Task<PipeReader?> EnsureResponseAsync()
    {
        lock (_gate)
        {
            return _response ??= _send is null ? Task.FromResult<PipeReader?>(null) : ReceiveHeadersAsync(_send);
        }
    }

    private async Task<PipeReader?> ReceiveHeadersAsync(Task<HttpResponseMessage> send)
    {
        HttpResponseMessage response;
        try
        {
            response = await send.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Finish(FailureStatus(ex), null);
            return null;
        }

        lock (_gate)
        {
            _httpResponse = response;
            if (_status is not null)
            {
                // Cancelled while the headers were on their way.
                response.Dispose();
                return null;
            }
        }

        var headers = new GrpcMetadata();
        foreach (var header in response.Headers)
        {
            if (!GrpcMetadata.IsReserved(header.Key.ToLowerInvariant()))
            {
                foreach (var value in header.Value)
                {
                    headers.AddReceived(header.Key, value);
                }
            }
        }

        lock (_gate)
        {
            _responseHeaders = headers;
        }

        var grpcStatus = Header(response.Headers, GrpcProtocol.StatusHeader);
        var grpcMessage = GrpcProtocol.DecodeMessage(Header(response.Headers, GrpcProtocol.MessageHeader));
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var code = GrpcProtocol.FromHttpStatus((int)response.StatusCode);
            var detail = $"HTTP {(int)response.StatusCode} from the server" + (grpcMessage.Length > 0 ? $": {grpcMessage}" : "");
            Finish(new GrpcStatus(code, detail), headers);
            return null;
        }

        if (grpcStatus is not null)
        {
            // Trailers-only: the call ended in the response headers.
            Finish(GrpcProtocol.TryParseStatus(grpcStatus, out var code)
                ? new GrpcStatus(code, grpcMessage)
                : new GrpcStatus(StatusCode.Unknown, $"invalid grpc-status \"{grpcStatus}\""), headers);
            return null;
        }

        var contentType = response.Content.Headers.ContentType?.MediaType;
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            Finish(new GrpcStatus(StatusCode.Unknown, $"the server answered with content-type \"{contentType}\", not application/grpc"), headers);
            return null;
        }

        try
        {
            var stream = await response.Content.ReadAsStreamAsync(_cancellation.Token).ConfigureAwait(false);
            return PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        }
        catch (Exception ex)
        {
            Finish(FailureStatus(ex), null);
            return null;
        }
    }

    private void FinishFromTrailers()
    {
        HttpResponseMessage? response;
        lock (_gate)
        {
            response = _httpResponse;
        }

        if (response is null)
        {
            Finish(new GrpcStatus(StatusCode.Internal, "the response ended without a status"), null);
            return;
        }

        var trailers = new GrpcMetadata();
        foreach (var header in response.TrailingHeaders)
        {
            if (!GrpcMetadata.IsReserved(header.Key.ToLowerInvariant()))
            {
                foreach (var value in header.Value)
                {
                    trailers.AddReceived(header.Key, value);
                }
            }
        }

        var grpcStatus = Header(response.TrailingHeaders, GrpcProtocol.StatusHeader);
        if (grpcStatus is null)
        {
            Finish(new GrpcStatus(StatusCode.Internal, "the server closed the response without a grpc-status"), trailers);
            return;
        }

        var message = GrpcProtocol.DecodeMessage(Header(response.TrailingHeaders, GrpcProtocol.MessageHeader));
        Finish(GrpcProtocol.TryParseStatus(grpcStatus, out var code)
            ? new GrpcStatus(code, message)
            : new GrpcStatus(StatusCode.Unknown, $"invalid grpc-status \"{grpcStatus}\""), trailers);
    }

    /// <summary>
    /// Records the final status (the first one wins). A call that ends with anything but OK has its stream reset,
    /// which tells the server (RST_STREAM CANCEL) and frees the stream at once.
    /// </summary>
    private void Finish(GrpcStatus status, GrpcMetadata? trailers)
    {
        HttpResponseMessage? response;
        lock (_gate)
        {
            if (_status is not null)
            {
                return;
            }

            _status = status;
            _trailers = trailers ?? GrpcMetadata.Empty;
            response = _httpResponse;
        }

        if (status.Code != StatusCode.OK)
        {
            _cancellation.Cancel();
        }

        _content?.Abort(new GrpcException(status));
        response?.Dispose();
    }

    private void ThrowIfFailed()
    {
        lock (_gate)
        {
            if (_status is { } status && status.Code != StatusCode.OK)
            {
                throw new GrpcException(status, _trailers);
            }
        }
    }

    private async Task<Exception> WriteFailureAsync(Exception error)
    {
        // The server may have ended the call already (a status in the response headers); that status explains the
        // failed write better than the transport's error does.
        await EnsureResponseAsync().ConfigureAwait(false);
        lock (_gate)
        {
            if (_status is { } status)
            {
                return status.Code == StatusCode.OK
                    ? new InvalidOperationException("the server has ended the call; nothing more can be written", error)
                    : new GrpcException(status, _trailers, error);
            }
        }

        var failure = FailureStatus(error);
        return new GrpcException(failure, null, error);
    }

    /// <summary>The status for a transport failure: the client's own cancellation, a stream reset, or a lost connection.</summary>
    private GrpcStatus FailureStatus(Exception error)
    {
        if (Status is { } finished)
        {
            return finished;
        }

        if (_cancellation.IsCancellationRequested)
        {
            return _deadlineTimer?.IsCancellationRequested == true
                ? new GrpcStatus(StatusCode.DeadlineExceeded, "the deadline passed")
                : new GrpcStatus(StatusCode.Cancelled, "the call was cancelled by the client");
        }

        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException protocol)
            {
                // RST_STREAM / GOAWAY error codes, mapped as PROTOCOL-HTTP2.md says.
                return protocol.ErrorCode switch
                {
                    0x7 => new GrpcStatus(StatusCode.Unavailable, $"the server refused the stream: {protocol.Message}"),
                    0x8 => new GrpcStatus(StatusCode.Cancelled, $"the server cancelled the stream: {protocol.Message}"),
                    0xB => new GrpcStatus(StatusCode.ResourceExhausted, $"the server asked to slow down: {protocol.Message}"),
                    0xC => new GrpcStatus(StatusCode.PermissionDenied, $"the transport is not secure enough: {protocol.Message}"),
                    _ => new GrpcStatus(StatusCode.Internal, $"HTTP/2 error: {protocol.Message}"),
                };
            }
        }

        return new GrpcStatus(StatusCode.Unavailable, $"the connection to {_channel.Address} failed: {error.Message}");
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
