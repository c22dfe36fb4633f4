namespace Mesh.Xds.Grpc;

/// <summary>Counters of a <see cref="GrpcServer"/>, read lock-free for metrics.</summary>
public sealed class GrpcServerCounters
{
    private readonly long[] _finished = new long[17];
    private long _started;
    private long _malformed;
    private long _oversize;

    /// <summary>Calls the server has received (every gRPC request, including those refused at once).</summary>
    public long CallsStarted => Volatile.Read(ref _started);

    /// <summary>Calls that have started and not yet finished.</summary>
    public long CallsActive
    {
        get
        {
            var finished = 0L;
            for (var i = 0; i < _finished.Length; i++)
            {
                finished += Volatile.Read(ref _finished[i]);
            }

            return Volatile.Read(ref _started) - finished;
        }
    }

    /// <summary>Request messages that could not be read: cut-short frames, bytes that are not the protobuf message, compressed frames.</summary>
    public long MalformedMessages => Volatile.Read(ref _malformed);

    /// <summary>Request messages refused for being over the receive limit.</summary>
    public long OversizeMessages => Volatile.Read(ref _oversize);

    /// <summary>Finished calls with status <paramref name="code"/>.</summary>
    public long CallsFinished(StatusCode code) =>
        (int)code is >= 0 and < 17 ? Volatile.Read(ref _finished[(int)code]) : 0;

    /// <summary>Finished calls by status, only the statuses seen so far.</summary>
    public IReadOnlyDictionary<StatusCode, long> FinishedByStatus()
    {
        var result = new Dictionary<StatusCode, long>();
        for (var i = 0; i < _finished.Length; i++)
        {
            var count = Volatile.Read(ref _finished[i]);
            if (count > 0)
            {
                result[(StatusCode)i] = count;
            }
        }

        return result;
    }

    internal void Started() => Interlocked.Increment(ref _started);

    internal void Finished(StatusCode code) =>
        Interlocked.Increment(ref _finished[(int)code is >= 0 and < 17 ? (int)code : (int)StatusCode.Unknown]);

    internal void Malformed() => Interlocked.Increment(ref _malformed);

    internal void Oversize() => Interlocked.Increment(ref _oversize);
}
