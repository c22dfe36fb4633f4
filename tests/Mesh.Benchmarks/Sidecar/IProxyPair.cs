namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// Two proxies in a row in front of the app: the client's local (outbound) proxy, which clients reach with plain
/// HTTP/1.1 on <see cref="EntryPort"/>, and the app's (inbound) proxy, reached from the first over mutual TLS.
/// </summary>
internal interface IProxyPair : IAsyncDisposable
{
    /// <summary>"haproxy" or "mesh", the name in figures and notes.</summary>
    string Name { get; }

    /// <summary>The loopback port where the outbound proxy takes plain HTTP/1.1 for the app.</summary>
    int EntryPort { get; }

    /// <summary>The outbound proxy's process (the one on the client's side).</summary>
    ChildProcess Outbound { get; }

    /// <summary>The inbound proxy's process (the one in front of the app).</summary>
    ChildProcess Inbound { get; }
}
