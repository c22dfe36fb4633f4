using System.Collections.Frozen;
using Google.Protobuf;

namespace Mesh.Xds.Grpc;

/// <summary>Handles a unary call: one request, one response.</summary>
public delegate Task<TResponse> UnaryHandler<TRequest, TResponse>(TRequest request, GrpcCallContext context)
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>;

/// <summary>Handles a server-streaming call: one request, any number of responses.</summary>
public delegate Task ServerStreamingHandler<TRequest, TResponse>(TRequest request, GrpcStreamWriter<TResponse> responses,
    GrpcCallContext context)
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>;

/// <summary>
/// Handles a bidirectional (duplex) streaming call. <paramref name="requests"/> ends when the client half-closes;
/// the call ends, with status OK, when the returned task completes.
/// </summary>
public delegate Task DuplexHandler<TRequest, TResponse>(IAsyncEnumerable<TRequest> requests,
    GrpcStreamWriter<TResponse> responses, GrpcCallContext context)
    where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>;

/// <summary>
/// The gRPC methods a server serves, by path (<c>/package.Service/Method</c>). Built once at start, then handed to a
/// <see cref="GrpcServer"/>, which takes a frozen copy.
/// </summary>
public sealed class GrpcRouter
{
    private readonly Dictionary<string, GrpcMethod> _methods = new(StringComparer.Ordinal);

    /// <summary>The registered method paths.</summary>
    public IReadOnlyCollection<string> Paths => _methods.Keys;

    /// <summary>Registers a unary method.</summary>
    /// <exception cref="ArgumentException">The path is not <c>/service/method</c> or is already registered.</exception>
    public GrpcRouter MapUnary<TRequest, TResponse>(string path, MessageParser<TRequest> requestParser,
        UnaryHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(requestParser);
        ArgumentNullException.ThrowIfNull(handler);
        return Add(path, new UnaryMethod<TRequest, TResponse>(path, requestParser, handler));
    }

    /// <summary>Registers a server-streaming method.</summary>
    /// <exception cref="ArgumentException">The path is not <c>/service/method</c> or is already registered.</exception>
    public GrpcRouter MapServerStreaming<TRequest, TResponse>(string path, MessageParser<TRequest> requestParser,
        ServerStreamingHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(requestParser);
        ArgumentNullException.ThrowIfNull(handler);
        return Add(path, new ServerStreamingMethod<TRequest, TResponse>(path, requestParser, handler));
    }

    /// <summary>Registers a bidirectional streaming method.</summary>
    /// <exception cref="ArgumentException">The path is not <c>/service/method</c> or is already registered.</exception>
    public GrpcRouter MapDuplex<TRequest, TResponse>(string path, MessageParser<TRequest> requestParser,
        DuplexHandler<TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(requestParser);
        ArgumentNullException.ThrowIfNull(handler);
        return Add(path, new DuplexMethod<TRequest, TResponse>(path, requestParser, handler));
    }

    internal FrozenDictionary<string, GrpcMethod> Freeze() => _methods.ToFrozenDictionary(StringComparer.Ordinal);

    private GrpcRouter Add(string path, GrpcMethod method)
    {
        ArgumentNullException.ThrowIfNull(path);
        var slash = path.IndexOf('/', 1);
        if (path.Length < 4 || path[0] != '/' || slash < 2 || slash == path.Length - 1 || path.IndexOf('/', slash + 1) >= 0)
        {
            throw new ArgumentException($"gRPC method path \"{path}\" must be /package.Service/Method", nameof(path));
        }

        if (!_methods.TryAdd(path, method))
        {
            throw new ArgumentException($"gRPC method {path} is already registered", nameof(path));
        }

        return this;
    }
}

/// <summary>One registered method: reads its requests from a call and runs its handler.</summary>
internal abstract class GrpcMethod(string path)
{
    /// <summary>The method path.</summary>
    public string Path { get; } = path;

    /// <summary>Whether the client streams requests (the request body stays open), which changes body limits.</summary>
    public abstract bool ClientStreaming { get; }

    /// <summary>Runs the call to the end of the handler; the server writes the status.</summary>
    public abstract Task InvokeAsync(ServerCall call);
}

internal sealed class UnaryMethod<TRequest, TResponse>(string path, MessageParser<TRequest> parser,
    UnaryHandler<TRequest, TResponse> handler) : GrpcMethod(path)
    where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse>
{
    public override bool ClientStreaming => false;

    public override async Task InvokeAsync(ServerCall call)
    {
        var request = await call.ReadSingleRequestAsync(parser).ConfigureAwait(false);
        var response = await handler(request, call.Context).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"the handler of {Path} returned no response message");
        await call.WriteMessageAsync(response, CancellationToken.None).ConfigureAwait(false);
    }
}

internal sealed class ServerStreamingMethod<TRequest, TResponse>(string path, MessageParser<TRequest> parser,
    ServerStreamingHandler<TRequest, TResponse> handler) : GrpcMethod(path)
    where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse>
{
    public override bool ClientStreaming => false;

    public override async Task InvokeAsync(ServerCall call)
    {
        var request = await call.ReadSingleRequestAsync(parser).ConfigureAwait(false);
        await handler(request, new ServerStreamWriter<TResponse>(call), call.Context).ConfigureAwait(false);
    }
}

internal sealed class DuplexMethod<TRequest, TResponse>(string path, MessageParser<TRequest> parser,
    DuplexHandler<TRequest, TResponse> handler) : GrpcMethod(path)
    where TRequest : class, IMessage<TRequest> where TResponse : class, IMessage<TResponse>
{
    public override bool ClientStreaming => true;

    public override Task InvokeAsync(ServerCall call) =>
        handler(call.ReadRequestsAsync(parser), new ServerStreamWriter<TResponse>(call), call.Context);
}

/// <summary>The server's writer: every message goes through the call, which serializes writes and the final status.</summary>
internal sealed class ServerStreamWriter<T>(ServerCall call) : GrpcStreamWriter<T>
    where T : class, IMessage<T>
{
    public override ValueTask WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return call.WriteMessageAsync(message, cancellationToken);
    }
}
