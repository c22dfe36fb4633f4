using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Security;
using Google.Protobuf;

namespace Mesh.Xds.Grpc;

/// <summary>
/// A gRPC client for one server address, over <see cref="SocketsHttpHandler"/>: HTTP/2 with prior knowledge for
/// <c>http://</c>, TLS with ALPN <c>h2</c> for <c>https://</c>. Calls are HTTP/2 streams; when the server's stream
/// limit is reached the handler opens another connection, so one channel holds any number of concurrent calls.
/// Thread-safe; make one per server and keep it.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private static readonly ProductInfoHeaderValue UserAgent = new("mesh-grpc", "0.1");
    private static readonly TransferCodingWithQualityHeaderValue Trailers = new("trailers");

    private readonly HttpMessageInvoker _invoker;
    private readonly Uri _address;

    /// <summary>Creates a channel to <paramref name="address"/> (<c>http://host:port</c> or <c>https://host:port</c>).</summary>
    /// <exception cref="ArgumentException">The address is not an absolute http or https URI.</exception>
    public GrpcChannel(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"gRPC address \"{address}\" must be an absolute http:// or https:// URI", nameof(address));
        }

        Options = options ?? new GrpcChannelOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MaxReceiveMessageSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.MaxSendMessageSize, 1, nameof(options));
        // Method paths are absolute; the address keeps only its scheme and authority.
        _address = new Uri(address.GetLeftPart(UriPartial.Authority) + "/");
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = Options.ConnectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            KeepAlivePingDelay = Options.KeepAlivePingDelay ?? Timeout.InfiniteTimeSpan,
            KeepAlivePingTimeout = Options.KeepAlivePingTimeout,
        };
        if (address.Scheme == Uri.UriSchemeHttps)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = Options.ServerCertificateValidation,
                ClientCertificates = Options.ClientCertificates,
            };
        }

        Options.ConfigureHandler?.Invoke(handler);
        _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    /// <summary>The channel's settings.</summary>
    public GrpcChannelOptions Options { get; }

    /// <summary>The server's base address.</summary>
    public Uri Address => _address;

    /// <summary>Makes a unary call and returns the response.</summary>
    /// <param name="method">The method path, <c>/package.Service/Method</c>.</param>
    /// <param name="request">The request message.</param>
    /// <param name="responseParser">Parses the response message.</param>
    /// <param name="options">Metadata, deadline, cancellation.</param>
    /// <exception cref="GrpcException">The call ended with a status other than OK (or without exactly one response).</exception>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(string method, TRequest request,
        MessageParser<TResponse> responseParser, GrpcCallOptions? options = null)
        where TRequest : IMessage<TRequest> where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseParser);
        var frame = GrpcFrames.EncodeMessage(request, Options.MaxSendMessageSize);
        await using var call = new GrpcDuplexCall<TRequest, TResponse>(this, method, responseParser, options, frame);
        var response = await call.ReadAsync().ConfigureAwait(false)
            ?? throw new GrpcException(new GrpcStatus(StatusCode.Internal, "the server ended a unary call with OK but sent no response message"), call.Trailers);
        if (await call.ReadAsync().ConfigureAwait(false) is not null)
        {
            throw new GrpcException(StatusCode.Internal, "the server sent more than one response message on a unary call");
        }

        return response;
    }

    /// <summary>
    /// Starts a bidirectional streaming call. Requests go out as they are written; the stream closes when
    /// <see cref="GrpcDuplexCall{TRequest, TResponse}.CompleteRequestsAsync"/> is called. Dispose the call to end it.
    /// </summary>
    public GrpcDuplexCall<TRequest, TResponse> StartDuplex<TRequest, TResponse>(string method,
        MessageParser<TResponse> responseParser, GrpcCallOptions? options = null)
        where TRequest : IMessage<TRequest> where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(responseParser);
        return new GrpcDuplexCall<TRequest, TResponse>(this, method, responseParser, options, unaryFrame: null);
    }

    /// <summary>Closes the channel's connections; calls in flight fail.</summary>
    public void Dispose() => _invoker.Dispose();

    /// <summary>Builds the HTTP/2 request of a call.</summary>
    internal HttpRequestMessage CreateRequest(string method, HttpContent content, GrpcCallOptions? options, DateTime? deadline)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_address, method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TE.Add(Trailers);
        request.Headers.UserAgent.Add(UserAgent);
        if (deadline is { } d)
        {
            request.Headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcProtocol.FormatTimeout(d - DateTime.UtcNow));
        }

        if (options?.Headers is { } headers)
        {
            foreach (var (key, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(key, value);
            }
        }

        return request;
    }

    /// <summary>Sends a request; the task completes when the response headers arrive.</summary>
    internal Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker.SendAsync(request, cancellationToken);

    /// <summary>Checks that a method path has the <c>/service/method</c> shape.</summary>
    internal static void ValidateMethod(string method)
    {
        ArgumentNullException.ThrowIfNull(method);
        var slash = method.Length > 1 ? method.IndexOf('/', 1) : -1;
        if (method.Length < 4 || method[0] != '/' || slash < 2 || slash == method.Length - 1 || method.IndexOf('/', slash + 1) >= 0)
        {
            throw new ArgumentException($"gRPC method path \"{method}\" must be /package.Service/Method", nameof(method));
        }
    }
}
