namespace Mesh.Sidecar.Config;

/// <summary>
/// The current <see cref="SidecarState"/>, swapped whole. Readers take <see cref="Current"/> without locks; a
/// watcher awaits <see cref="WaitForChangeAsync"/> with the state it last saw (latest wins: a slow watcher
/// sees only the newest state).
/// </summary>
internal sealed class StateHolder
{
    private SidecarState _current = SidecarState.Empty;
    private TaskCompletionSource _changed = NewSignal();

    /// <summary>The state in force.</summary>
    public SidecarState Current => Volatile.Read(ref _current);

    /// <summary>Makes <paramref name="state"/> current and wakes the watchers.</summary>
    public void Publish(SidecarState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Volatile.Write(ref _current, state);
        Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
    }

    /// <summary>Completes once the current state is no longer <paramref name="seen"/>.</summary>
    public async Task WaitForChangeAsync(SidecarState seen, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Take the signal before comparing, so a publish between the two cannot be missed.
            var signal = Volatile.Read(ref _changed).Task;
            if (!ReferenceEquals(Current, seen)) return;
            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
