namespace Mesh.Cli.Locks;

/// <summary>A lock or semaphore operation failed; <see cref="InUse"/> marks "someone else still uses it".</summary>
internal sealed class LockException(string message, bool inUse = false, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Cleanup found the lock or semaphore still in use, which is not an error for the command.</summary>
    public bool InUse { get; } = inUse;
}

/// <summary>A lock (<see cref="KvLock"/>) or semaphore (<see cref="KvSemaphore"/>) held through a session.</summary>
internal interface ILockHandle
{
    /// <summary>
    /// Blocks until acquired and returns a task that completes if the lock is later lost; returns null when
    /// <paramref name="stop"/> fired or the one-shot wait ran out first.
    /// </summary>
    /// <exception cref="LockException">Acquisition failed.</exception>
    Task<Task?> AcquireAsync(CancellationToken stop);

    /// <summary>Gives the lock up and destroys the session.</summary>
    Task ReleaseAsync(CancellationToken ct);

    /// <summary>Removes the coordination key if nobody uses it; throws with <see cref="LockException.InUse"/> if someone does.</summary>
    Task CleanupAsync(CancellationToken ct);
}
