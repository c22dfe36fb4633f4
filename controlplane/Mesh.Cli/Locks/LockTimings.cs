namespace Mesh.Cli.Locks;

/// <summary>
/// The periods <c>mesh lock</c> works with, Consul's values by default (<c>api/lock.go</c>, <c>command/lock</c>);
/// tests shorten them.
/// </summary>
internal sealed record LockTimings
{
    public static LockTimings Default { get; } = new();

    /// <summary>TTL of the session the lock is held by (Consul's DefaultLockSessionTTL); renewed every half of it.</summary>
    public TimeSpan SessionTtl { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The session's lock-delay: how long a lost lock stays unacquirable.</summary>
    public TimeSpan LockDelay { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long one blocking read waits while the lock is held by someone else.</summary>
    public TimeSpan WaitTime { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Pause after a refused acquire while a lock-delay is in effect.</summary>
    public TimeSpan RetryTime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Pause between monitor retries after a 500 or a connection error.</summary>
    public TimeSpan MonitorRetryTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Time a child gets between SIGTERM and SIGKILL.</summary>
    public TimeSpan KillGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Upper bound on releasing and cleaning up after the command was interrupted.</summary>
    public TimeSpan CleanupTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
