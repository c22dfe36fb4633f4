using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace Mesh.Xds.Grpc;

/// <summary>
/// One call on the server: reads request frames from the HTTP/2 request body, writes response frames and the final
/// status. Writes and the status share one lock, so concurrent handler writes and the trailers never interleave.
/// </summary>
internal sealed class ServerCall
{
    private readonly HttpContext _http;
    private readonly GrpcServerOptions _options;
    private readonly GrpcServerCounters _counters;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _responseStarted;
    private bool _completed;
    private int _reading;

    public ServerCall(HttpContext http, GrpcCallContext context, GrpcServerOptions options, GrpcServerCounters counters)
    {
        _http = http;
        Context = context;
        _options = options;
        _counters = counters;
    }

    /// <summary>The handler's view of the call.</summary>
    public GrpcCallContext Context { get; }

    /// <summary>The first error met while reading requests; it decides the status even if the handler swallowed it.</summary>
    public GrpcStatus? ReadFailure { get; private set; }

    /// <summary>
    /// Whether the transport said the client is gone (its stream reset, its connection closed). Kestrel fails the
    /// body read or write at once, and may signal <c>RequestAborted</c> a moment later; this flag does not wait.
    /// </summary>
    public bool ClientGone { get; private set; }

    /// <summary>Whether any response message has been written (so the status goes in trailers, not trailers-only).</summary>
    public bool ResponseStarted => _responseStarted;

    /// <summary>Reads exactly one request message, as unary and server-streaming methods take.</summary>
    public async Task<T> ReadSingleRequestAsync<T>(MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        BeginReading();
        var request = await ReadAsync(parser, Context.CancellationToken, default).ConfigureAwait(false)
            ?? throw Fail(new GrpcException(StatusCode.Internal, "the request ended without a message; a unary request carries exactly one"), malformed: true);
        if (await ReadAsync(parser, Context.CancellationToken, default).ConfigureAwait(false) is not null)
        {
            throw Fail(new GrpcException(StatusCode.Internal, "the request carried more than one message; a unary request carries exactly one"), malformed: true);
        }

        return request;
    }

    /// <summary>The request stream of a duplex method; it can be enumerated once.</summary>
    public async IAsyncEnumerable<T> ReadRequestsAsync<T>(MessageParser<T> parser,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where T : class, IMessage<T>
    {
        BeginReading();
        // A token given to the enumeration (WithCancellation) must also wake a read that is waiting for the client;
        // one linked source per call, not per message.
        using var linked = cancellationToken.CanBeCanceled && cancellationToken != Context.CancellationToken
            ? CancellationTokenSource.CreateLinkedTokenSource(Context.CancellationToken, cancellationToken)
            : null;
        var token = linked?.Token ?? Context.CancellationToken;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var message = await ReadAsync(parser, token, cancellationToken).ConfigureAwait(false);
            if (message is null)
            {
                yield break;
            }

            yield return message;
        }
    }

    /// <summary>Writes one response message and flushes it.</summary>
    public async ValueTask WriteMessageAsync(IMessage message, CancellationToken cancellationToken)
    {
        var callToken = Context.CancellationToken;
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_completed)
            {
                throw new InvalidOperationException($"the call {Context.Method} has completed; no more messages can be written");
            }

            callToken.ThrowIfCancellationRequested();
            cancellationToken.ThrowIfCancellationRequested();
            var writer = _http.Response.BodyWriter;
            if (!_responseStarted)
            {
                _http.Response.StatusCode = StatusCodes.Status200OK;
                _http.Response.ContentType = GrpcProtocol.ContentType;
                _responseStarted = true;
            }

            GrpcFrames.WriteMessage(writer, message, _options.MaxSendMessageSize);
            // The call token is what ends a stuck flush (client gone, deadline); a caller's own token is linked in
            // only when it is a different one, to keep the common path free of allocations.
            FlushResult flushed;
            if (cancellationToken.CanBeCanceled && cancellationToken != callToken)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, cancellationToken);
                flushed = await writer.FlushAsync(linked.Token).ConfigureAwait(false);
            }
            else
            {
                flushed = await writer.FlushAsync(callToken).ConfigureAwait(false);
            }

            if (flushed.IsCanceled || flushed.IsCompleted)
            {
                ClientGone = !callToken.IsCancellationRequested;
                throw new OperationCanceledException("the client is no longer reading the response", callToken);
            }
        }
        catch (Exception ex) when (IsTransportFailure(ex, cancellationToken))
        {
            throw ClientGoneException(ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Ends the call with <paramref name="status"/>: in trailers after messages, or as a trailers-only response
    /// (status in the response headers) when nothing was written. Later writes fail.
    /// </summary>
    public async Task CompleteAsync(GrpcStatus status, bool clientGone)
    {
        await _writeLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            _completed = true;
            if (clientGone)
            {
                return;
            }

            var response = _http.Response;
            if (!_responseStarted && !response.HasStarted)
            {
                WriteTrailersOnly(response, status);
                return;
            }

            response.AppendTrailer(GrpcProtocol.StatusHeader, GrpcProtocol.StatusText(status.Code));
            if (status.Detail.Length > 0)
            {
                response.AppendTrailer(GrpcProtocol.MessageHeader, GrpcProtocol.EncodeMessage(status.Detail));
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>A response that is only headers: HTTP 200, the gRPC content type and the status (PROTOCOL-HTTP2 "Trailers-Only").</summary>
    internal static void WriteTrailersOnly(HttpResponse response, GrpcStatus status, int httpStatus = StatusCodes.Status200OK)
    {
        response.StatusCode = httpStatus;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusText(status.Code);
        if (status.Detail.Length > 0)
        {
            response.Headers[GrpcProtocol.MessageHeader] = GrpcProtocol.EncodeMessage(status.Detail);
        }
    }

    private void BeginReading()
    {
        if (Interlocked.Exchange(ref _reading, 1) != 0)
        {
            throw new InvalidOperationException($"the requests of {Context.Method} can be read only once");
        }
    }

    private async ValueTask<T?> ReadAsync<T>(MessageParser<T> parser, CancellationToken token, CancellationToken callerToken)
        where T : class, IMessage<T>
    {
        try
        {
            return await GrpcFrames.ReadMessageAsync(_http.Request.BodyReader, parser, _options.MaxReceiveMessageSize, token)
                .ConfigureAwait(false);
        }
        catch (GrpcException ex)
        {
            throw Fail(ex, malformed: ex.StatusCode != StatusCode.ResourceExhausted);
        }
        catch (Exception ex) when (IsTransportFailure(ex, callerToken))
        {
            throw ClientGoneException(ex);
        }
    }

    /// <summary>
    /// An I/O error, or a cancellation no token of the call asked for: Kestrel's way of saying the stream was reset
    /// or the connection dropped.
    /// </summary>
    private bool IsTransportFailure(Exception ex, CancellationToken callerToken) =>
        ex is IOException
        || (ex is OperationCanceledException && !Context.CancellationToken.IsCancellationRequested && !callerToken.IsCancellationRequested);

    /// <summary>Marks the client gone and hands the handler a cancellation, as it would see for a cancelled call.</summary>
    private OperationCanceledException ClientGoneException(Exception ex)
    {
        ClientGone = true;
        return new OperationCanceledException("the client reset the stream or closed the connection", ex, Context.CancellationToken);
    }

    private GrpcException Fail(GrpcException ex, bool malformed)
    {
        if (ReadFailure is null)
        {
            ReadFailure = ex.Status;
            if (malformed)
            {
                _counters.Malformed();
            }
            else
            {
                _counters.Oversize();
            }
        }

        return ex;
    }
}
