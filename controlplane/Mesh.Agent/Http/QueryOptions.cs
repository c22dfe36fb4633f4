namespace Mesh.Agent.Http;

/// <summary>The blocking and consistency parameters of a read (<c>?index ?wait ?stale ?consistent ?max_stale</c>).</summary>
internal sealed record QueryOptions(ulong MinIndex, TimeSpan Wait, bool Stale, bool Consistent, TimeSpan MaxStale)
{
    /// <summary>Wait used when a blocking query names none (Consul's default).</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(5);

    /// <summary>Longest wait a client may ask for; longer is capped.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(10);

    /// <summary>Consul's <c>X-Consul-Effective-Consistency</c> value.</summary>
    public string Consistency => Consistent ? "consistent" : Stale ? "stale" : "leader";

    /// <summary>
    /// The wait to use: the asked one (default when none, capped at the maximum) plus random jitter of up to 1/16 of
    /// it, so watchers that started together do not all come back at once.
    /// </summary>
    public TimeSpan WaitWithJitter()
    {
        var wait = Wait <= TimeSpan.Zero ? DefaultWait : Wait > MaxWait ? MaxWait : Wait;
        return wait + TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * (wait.Ticks / 16)));
    }
}
