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
    private bool _stopping;

    /// <summary>Readers' interest in keys; fired after every commit.</summary>
    public WatchRegistry Watches { get; } = new();

    /// <summary>The latest committed version.</summary>
    public StateView View() => new(Volatile.Read(ref _root));

    /// <summary>The last applied log index.</summary>
    public ulong Index => Volatile.Read(ref _root).Index;

    internal WriteTxn Begin(ulong index, DateTime now) => new(Volatile.Read(ref _root), index, now);

    internal void Commit(WriteTxn txn)
    {
        // Publish first, fire second: a reader woken by the fire is guaranteed to read the new version. The exchange
        // is a full fence, so the registry reads below cannot move before the publication and miss a reader that
        // registered in between (a release-only store would allow exactly that).
        Interlocked.Exchange(ref _root, txn.Commit());
        foreach (var (table, key) in txn.Changes) Watches.Fire(table, key);
    }

    internal void Skip(ulong index)
    {
        var root = Volatile.Read(ref _root);
        Volatile.Write(ref _root, root with { Index = index });
    }

    internal void Replace(StoreRoot root)
    {
        Interlocked.Exchange(ref _root, root);
        Watches.FireAll();
    }

    /// <summary>
    /// Makes every parked and future blocking query answer at once with its current result: called when the server
    /// shuts down, so watchers get an answer instead of a dropped connection.
    /// </summary>
    public void StopBlocking()
    {
        Volatile.Write(ref _stopping, true);
        Interlocked.MemoryBarrier();
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

        // One deadline and the caller's own token: no linked token sources, whose set-up and tear-down would make
        // thousands of watchers of one key contend when a write wakes them all at once.
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (true)
        {
            // Look first without registering anything: a query woken by a change (or one already past its index)
            // answers without touching the watch registry.
            var result = query(View(), null);
            var remaining = deadline - Environment.TickCount64;
            if (indexOf(result) > minIndex || remaining <= 0 || Volatile.Read(ref _stopping)) return result;

            using var ws = new WatchSet(Watches);
            var root = Volatile.Read(ref _root);
            result = query(new StateView(root), ws);
            if (indexOf(result) > minIndex) return result;
            // A commit between reading the version and registering the watches would not fire them: look again.
            if (!ReferenceEquals(root, Volatile.Read(ref _root)) || Volatile.Read(ref _stopping)) continue;
            if (!await ws.WaitAsync(TimeSpan.FromMilliseconds(remaining), cancellationToken).ConfigureAwait(false))
                return query(View(), null);
        }
    }
}
