namespace Mesh.Xds.Grpc;

/// <summary>
/// Limits and keepalive of the gRPC server. The port is not here: the host decides where to listen
/// (<see cref="GrpcHostingExtensions.UseGrpc(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions, System.Security.Cryptography.X509Certificates.X509Certificate2?)"/>).
/// </summary>
public sealed record GrpcServerOptions
{
    /// <summary>The largest request message accepted; a bigger one ends the call with RESOURCE_EXHAUSTED. 4 MiB by default, as in gRPC.</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>The largest response message sent; a handler writing a bigger one ends its call with RESOURCE_EXHAUSTED. No limit by default.</summary>
    public int MaxSendMessageSize { get; init; } = int.MaxValue;

    /// <summary>
    /// Concurrent streams a client may open on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). High, because
    /// a load generator or a node agent multiplexes thousands of long-lived ADS streams on few connections.
    /// </summary>
    public int MaxStreamsPerConnection { get; init; } = 10_000;

    /// <summary>
    /// How long a connection may be idle before the server sends an HTTP/2 PING, so dead peers and half-open
    /// connections behind NAT are found. Null turns server pings off.
    /// </summary>
    public TimeSpan? KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the server waits for a PING's acknowledgement before it closes the connection.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The connection-level receive window. Shared by every stream of a connection, so larger than Kestrel's 1 MiB default.</summary>
    public int InitialConnectionWindowSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>The per-stream receive window: room for a few large discovery requests in flight.</summary>
    public int InitialStreamWindowSize { get; init; } = 1024 * 1024;

    /// <summary>Checks the values, so a bad configuration fails at start rather than at the first call.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is outside what HTTP/2 or Kestrel allows.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxReceiveMessageSize, 1, nameof(MaxReceiveMessageSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSendMessageSize, 1, nameof(MaxSendMessageSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxStreamsPerConnection, 1, nameof(MaxStreamsPerConnection));
        if (KeepAlivePingDelay is { } delay && delay < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlivePingDelay), delay, "the keepalive ping delay must be at least one second");
        }

        if (KeepAlivePingTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlivePingTimeout), KeepAlivePingTimeout, "the keepalive ping timeout must be at least one second");
        }

        // HTTP/2 windows are between the 65,535-byte default and 2^31-1 (RFC 9113 §6.9.1).
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialConnectionWindowSize, 65_535, nameof(InitialConnectionWindowSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialStreamWindowSize, 65_535, nameof(InitialStreamWindowSize));
        if (InitialStreamWindowSize > InitialConnectionWindowSize)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialStreamWindowSize), InitialStreamWindowSize,
                "the stream window cannot be larger than the connection window");
        }
    }
}
