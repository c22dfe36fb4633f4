using Mesh.Xds.Cache;

namespace Mesh.Xds.Server;

/// <summary>
/// The ADS server's counters, read by the metrics endpoint: streams open, and responses, ACKs and NACKs by type.
/// Updated with interlocked adds from every stream.
/// </summary>
internal sealed class XdsCounters
{
    private readonly long[] _responses = new long[TypeUrls.Count];
    private readonly long[] _acks = new long[TypeUrls.Count];
    private readonly long[] _nacks = new long[TypeUrls.Count];
    private long _activeSotw, _activeDelta, _opened, _failed;

    /// <summary>Streams open now, both protocols.</summary>
    public long ActiveStreams => Interlocked.Read(ref _activeSotw) + Interlocked.Read(ref _activeDelta);

    /// <summary>State-of-the-world streams open now.</summary>
    public long ActiveSotwStreams => Interlocked.Read(ref _activeSotw);

    /// <summary>Incremental streams open now.</summary>
    public long ActiveDeltaStreams => Interlocked.Read(ref _activeDelta);

    /// <summary>Streams opened since start.</summary>
    public long StreamsOpened => Interlocked.Read(ref _opened);

    /// <summary>Streams that ended with an error (a bad request, a refused node, a server fault, shutdown).</summary>
    public long StreamsFailed => Interlocked.Read(ref _failed);

    /// <summary>Responses sent for the type, both protocols.</summary>
    public long ResponsesSent(string typeUrl) => Read(_responses, typeUrl);

    /// <summary>Responses of the type that clients accepted.</summary>
    public long Acks(string typeUrl) => Read(_acks, typeUrl);

    /// <summary>Responses of the type that clients rejected.</summary>
    public long Nacks(string typeUrl) => Read(_nacks, typeUrl);

    internal void StreamOpened(bool delta)
    {
        Interlocked.Increment(ref _opened);
        Interlocked.Increment(ref delta ? ref _activeDelta : ref _activeSotw);
    }

    internal void StreamClosed(bool delta) => Interlocked.Decrement(ref delta ? ref _activeDelta : ref _activeSotw);

    internal void StreamFailed() => Interlocked.Increment(ref _failed);

    internal void ResponseSent(int typeIndex) => Interlocked.Increment(ref _responses[typeIndex]);

    internal void Ack(int typeIndex) => Interlocked.Increment(ref _acks[typeIndex]);

    internal void Nack(int typeIndex) => Interlocked.Increment(ref _nacks[typeIndex]);

    private static long Read(long[] counters, string typeUrl)
    {
        var index = TypeUrls.IndexOf(typeUrl);
        return index < 0 ? 0 : Interlocked.Read(ref counters[index]);
    }
}
