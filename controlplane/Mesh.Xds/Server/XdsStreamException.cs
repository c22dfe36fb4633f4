namespace Mesh.Xds.Server;

/// <summary>
/// Ends an xDS stream with a gRPC status. The ADS server throws it (and lets a resource source throw it); the gRPC
/// layer turns it into the call's <c>grpc-status</c> and <c>grpc-message</c>.
/// </summary>
public sealed class XdsStreamException : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="statusCode">A gRPC status code number (<see cref="XdsStatusCode"/>).</param>
    /// <param name="message">The text sent as <c>grpc-message</c>.</param>
    public XdsStreamException(int statusCode, string message) : base(message) => StatusCode = statusCode;

    /// <summary>Creates the error with the exception that caused it (kept for logs; the client sees only the message).</summary>
    public XdsStreamException(int statusCode, string message, Exception innerException) : base(message, innerException) =>
        StatusCode = statusCode;

    /// <summary>The gRPC status code number.</summary>
    public int StatusCode { get; }
}

/// <summary>The gRPC status codes an xDS stream ends with.</summary>
public static class XdsStatusCode
{
    /// <summary>CANCELLED: the client went away.</summary>
    public const int Cancelled = 1;

    /// <summary>INVALID_ARGUMENT: a malformed request (no node on the first request, no type URL).</summary>
    public const int InvalidArgument = 3;

    /// <summary>NOT_FOUND: the source knows no such proxy and will not serve it.</summary>
    public const int NotFound = 5;

    /// <summary>INTERNAL: the server failed while serving the stream.</summary>
    public const int Internal = 13;

    /// <summary>UNAVAILABLE: the server is shutting down; the client should reconnect (to another server).</summary>
    public const int Unavailable = 14;
}
