namespace Mesh.Xds.Grpc;

/// <summary>What a server handler knows about its call.</summary>
public sealed class GrpcCallContext
{
    /// <summary>Creates a context; the server makes one per call, tests of handlers may make their own.</summary>
    /// <param name="method">The method path, <c>/package.Service/Method</c>.</param>
    /// <param name="peer">The caller's address, <c>ip:port</c> (<c>[v6]:port</c>).</param>
    /// <param name="requestHeaders">The request metadata (protocol headers removed).</param>
    /// <param name="deadline">When the call times out (UTC), from <c>grpc-timeout</c>; null when the client set none.</param>
    /// <param name="cancellationToken">Fires when the client cancels or resets the stream, the deadline passes, or the server shuts down.</param>
    public GrpcCallContext(string method, string peer, GrpcMetadata requestHeaders, DateTime? deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(requestHeaders);
        Method = method;
        Peer = peer;
        RequestHeaders = requestHeaders;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The method path, <c>/package.Service/Method</c>.</summary>
    public string Method { get; }

    /// <summary>The caller's address, <c>ip:port</c> (<c>[v6]:port</c>).</summary>
    public string Peer { get; }

    /// <summary>The request metadata: the request's headers without pseudo-headers and gRPC/HTTP protocol headers.</summary>
    public GrpcMetadata RequestHeaders { get; }

    /// <summary>When the call times out (UTC), from the client's <c>grpc-timeout</c>; null when the client set none.</summary>
    public DateTime? Deadline { get; }

    /// <summary>
    /// Fires when the client cancels or resets the stream, the deadline passes, or the server shuts down. A handler
    /// passes it to everything it awaits and returns (or throws) promptly once it fires.
    /// </summary>
    public CancellationToken CancellationToken { get; }
}
