using Mesh.State.Watch;

namespace Mesh.State;

/// <summary>
/// The in-memory state of a server: immutable versions published one after another by the FSM, read without locks,
/// and watched by blocking queries. Only the FSM writes to it (through <see cref="Fsm.StateMachine"/>), so every
/// server that applies the same log holds the same store.
/// </summary>
public sealed class StateStore
{
    private StoreRoot _root = StoreRoot.Empty;

    /// <summary>Readers' interest in keys; fired after every commit.</summary>
    public WatchRegistry Watches { get; } = new();

    /// <summary>The latest committed version.</summary>
    public StateView View() => new(Volatile.Read(ref _root));

    /// <summary>The last applied log index.</summary>
    public ulong Index => Volatile.Read(ref _root).Index;

    internal WriteTxn Begin(ulong index, DateTime now) => new(Volatile.Read(ref _root), index, now);

    internal void Commit(WriteTxn txn)
    {
        // Publish first, fire second: a reader woken by the fire is guaranteed to read the new version.
        Volatile.Write(ref _root, txn.Commit());
        foreach (var (table, key) in txn.Changes) Watches.Fire(table, key);
    }

    internal void Skip(ulong index)
    {
        var root = Volatile.Read(ref _root);
        Volatile.Write(ref _root, root with { Index = index });
    }

    internal void Replace(StoreRoot root)
    {
        Volatile.Write(ref _root, root);
        Watches.FireAll();
    }

    /// <summary>
    /// Runs <paramref name="query"/> and, when its index is not above <paramref name="minIndex"/>, waits for a change
    /// to what it read and runs it again, until the index moves past <paramref name="minIndex"/> or
    /// <paramref name="wait"/> runs out; then returns the latest result. A <paramref name="minIndex"/> of 0 does not block.
    /// </summary>
    public async Task<T> BlockingQueryAsync<T>(ulong minIndex, TimeSpan wait, Func<StateView, WatchSet?, T> query,
        Func<T, ulong> indexOf, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(indexOf);
        if (minIndex == 0) return query(View(), null);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait);
        while (true)
        {
            using var ws = new WatchSet(Watches);
            var root = Volatile.Read(ref _root);
            var result = query(new StateView(root), ws);
            if (indexOf(result) > minIndex || timeout.IsCancellationRequested) return result;
            // A commit between reading the version and registering the watches would not fire them: look again.
            if (!ReferenceEquals(root, Volatile.Read(ref _root))) continue;
            try
            {
                await ws.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The wait ran out: answer with what is there now.
            }
        }
    }
}
