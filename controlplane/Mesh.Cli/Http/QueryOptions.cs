namespace Mesh.Cli.Http;

/// <summary>Per-request read options: consistency mode and blocking-query parameters.</summary>
internal sealed record QueryOptions
{
    /// <summary>Sends <c>?stale</c>: any server may answer.</summary>
    public bool AllowStale { get; init; }

    /// <summary>Sends <c>?consistent</c>: the leader re-verifies its leadership first.</summary>
    public bool RequireConsistent { get; init; }

    /// <summary>Sends <c>?index=</c> when non-zero, making the request a blocking query.</summary>
    public ulong WaitIndex { get; init; }

    /// <summary>Sends <c>?wait=</c> (in milliseconds, as Consul's client does) when non-zero.</summary>
    public TimeSpan WaitTime { get; init; }
}

/// <summary>What a read response says about itself, from the <c>X-Consul-*</c> headers.</summary>
/// <param name="LastIndex"><c>X-Consul-Index</c>, 0 when absent.</param>
/// <param name="KnownLeader"><c>X-Consul-KnownLeader</c>.</param>
/// <param name="LastContact"><c>X-Consul-LastContact</c> (milliseconds).</param>
internal sealed record QueryMeta(ulong LastIndex, bool KnownLeader, TimeSpan LastContact);
