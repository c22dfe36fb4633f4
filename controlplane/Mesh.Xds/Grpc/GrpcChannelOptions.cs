using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Mesh.Xds.Grpc;

/// <summary>Settings of a <see cref="GrpcChannel"/>.</summary>
public sealed record GrpcChannelOptions
{
    /// <summary>The largest response message accepted; a bigger one ends the call with RESOURCE_EXHAUSTED. 4 MiB by default.</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>The largest request message sent; writing a bigger one throws RESOURCE_EXHAUSTED. No limit by default.</summary>
    public int MaxSendMessageSize { get; init; } = int.MaxValue;

    /// <summary>Idle time after which the client pings the connection (HTTP/2 PING) to find a dead server. Null: no pings.</summary>
    public TimeSpan? KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the client waits for a PING's acknowledgement before it drops the connection.</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long establishing a connection (TCP and TLS) may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks the server's certificate on <c>https</c> channels; null uses the system's trust store.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; init; }

    /// <summary>Client certificates for mutual TLS on <c>https</c> channels.</summary>
    public X509CertificateCollection? ClientCertificates { get; init; }

    /// <summary>A last say over the handler (for settings not exposed here), called once when the channel is made.</summary>
    public Action<SocketsHttpHandler>? ConfigureHandler { get; init; }
}

/// <summary>Per-call settings.</summary>
public sealed record GrpcCallOptions
{
    /// <summary>Request metadata, sent as headers.</summary>
    public GrpcMetadata? Headers { get; init; }

    /// <summary>When the call must be over (UTC). Sent as <c>grpc-timeout</c>; the client also ends the call itself then with DEADLINE_EXCEEDED.</summary>
    public DateTime? Deadline { get; init; }

    /// <summary>Cancels the call: the stream is reset and the call ends with CANCELLED.</summary>
    public CancellationToken CancellationToken { get; init; }
}
