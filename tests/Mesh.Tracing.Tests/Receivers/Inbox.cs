namespace Mesh.Tracing.Tests.Receivers;

/// <summary>What a receiver has collected, and a way to await a condition on it without polling or sleeping.</summary>
public sealed class Inbox<T>
{
    private readonly object _gate = new();
    private readonly List<T> _items = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Everything received so far.</summary>
    public IReadOnlyList<T> Items
    {
        get
        {
            lock (_gate)
            {
                return _items.ToArray();
            }
        }
    }

    public void AddRange(IEnumerable<T> items)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _items.AddRange(items);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.SetResult();
    }

    /// <summary>Waits until <paramref name="condition"/> holds on what has arrived; throws <see cref="TimeoutException"/> otherwise.</summary>
    public async Task<IReadOnlyList<T>> WaitAsync(Func<IReadOnlyList<T>, bool> condition, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            T[] snapshot;
            Task changed;
            lock (_gate)
            {
                snapshot = _items.ToArray();
                changed = _changed.Task;
            }

            if (condition(snapshot)) return snapshot;
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the condition did not hold within the timeout; {snapshot.Length} items arrived");
            }
        }
    }
}
