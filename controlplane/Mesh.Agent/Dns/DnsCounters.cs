namespace Mesh.Agent.Dns;

/// <summary>The DNS server's counters, read by the metrics endpoint. Updated with interlocked adds from every loop.</summary>
internal sealed class DnsCounters
{
    private long _udp, _tcp, _malformed, _rejected, _truncated, _recursed, _recursorFailures;

    /// <summary>Questions answered over UDP.</summary>
    public long Udp => Interlocked.Read(ref _udp);

    /// <summary>Questions answered over TCP.</summary>
    public long Tcp => Interlocked.Read(ref _tcp);

    /// <summary>Packets dropped unanswered because they could not be read.</summary>
    public long MalformedDropped => Interlocked.Read(ref _malformed);

    /// <summary>Packets answered FORMERR, NOTIMP or BADVERS.</summary>
    public long RejectedCount => Interlocked.Read(ref _rejected);

    /// <summary>Responses that left answers out to fit.</summary>
    public long TruncatedCount => Interlocked.Read(ref _truncated);

    /// <summary>Questions forwarded to a recursor.</summary>
    public long RecursedCount => Interlocked.Read(ref _recursed);

    /// <summary>Forwarded questions no recursor answered (SERVFAIL).</summary>
    public long RecursorFailures => Interlocked.Read(ref _recursorFailures);

    /// <summary>Counts one question.</summary>
    public void Query(bool tcp) => Interlocked.Increment(ref tcp ? ref _tcp : ref _udp);

    /// <summary>Counts a dropped packet.</summary>
    public void Malformed() => Interlocked.Increment(ref _malformed);

    /// <summary>Counts a rejected packet.</summary>
    public void Rejected() => Interlocked.Increment(ref _rejected);

    /// <summary>Counts a cut response.</summary>
    public void Truncated() => Interlocked.Increment(ref _truncated);

    /// <summary>Counts a forwarded question.</summary>
    public void Recursed() => Interlocked.Increment(ref _recursed);

    /// <summary>Counts a forwarded question that failed.</summary>
    public void RecursorFailed() => Interlocked.Increment(ref _recursorFailures);
}
