namespace Mesh.Demos.Dashboard;

/// <summary>What the dashboard last learned about the counting service; pushed to every open page.</summary>
/// <param name="State"><see cref="Connecting"/>, <see cref="Reachable"/> or <see cref="Unreachable"/>.</param>
/// <param name="Url">The counting URL the dashboard polls.</param>
/// <param name="CheckedAt">When the poll finished.</param>
/// <param name="Count">The count counting answered (reachable only).</param>
/// <param name="Hostname">The host of the counting instance that answered (reachable only).</param>
/// <param name="Reason">Why counting is unreachable: the error, the status code, or the unexpected answer.</param>
internal sealed record CountingStatus(string State, string Url, DateTimeOffset CheckedAt, long? Count = null, string? Hostname = null, string? Reason = null)
{
    /// <summary>No poll has finished yet.</summary>
    public const string Connecting = "connecting";

    /// <summary>The last poll got a count.</summary>
    public const string Reachable = "reachable";

    /// <summary>The last poll got no count.</summary>
    public const string Unreachable = "unreachable";
}

/// <summary>
/// The latest <see cref="CountingStatus"/>, swapped whole on every poll, with a task that completes when the next one
/// arrives: each WebSocket waits on it, so one poll reaches every open page without a queue per page.
/// </summary>
internal sealed class StatusBoard(CountingStatus initial)
{
    private Entry _entry = new(initial);

    /// <summary>The latest status.</summary>
    public CountingStatus Current => Volatile.Read(ref _entry).Status;

    /// <summary>The latest status, and a task that completes when a newer one is published.</summary>
    public (CountingStatus Status, Task Changed) Watch()
    {
        var entry = Volatile.Read(ref _entry);
        return (entry.Status, entry.Next.Task);
    }

    /// <summary>Makes <paramref name="status"/> the latest and wakes everyone watching the previous one.</summary>
    public void Publish(CountingStatus status)
    {
        var previous = Interlocked.Exchange(ref _entry, new Entry(status));
        previous.Next.TrySetResult();
    }

    private sealed class Entry(CountingStatus status)
    {
        public CountingStatus Status { get; } = status;

        public TaskCompletionSource Next { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
