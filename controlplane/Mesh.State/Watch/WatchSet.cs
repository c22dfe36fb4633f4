namespace Mesh.State.Watch;

/// <summary>
/// The set of things one read looked at. Store reads add to it as they go; a blocking query then waits until any of
/// them changes or its time runs out. Dispose it when the query is done.
/// </summary>
public sealed class WatchSet : IDisposable
{
    private readonly WatchRegistry _registry;
    private readonly List<WatchRegistry.Registration> _registrations = new(2);

    /// <summary>Creates an empty set over <paramref name="registry"/>.</summary>
    public WatchSet(WatchRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
    }

    /// <summary>Watches one key of a table.</summary>
    public void Key(string table, string key) => _registrations.Add(_registry.Register(table, key, prefix: false));

    /// <summary>Watches every key of a table that starts with <paramref name="prefix"/> (empty: the whole table).</summary>
    public void Prefix(string table, string prefix) => _registrations.Add(_registry.Register(table, prefix, prefix: true));

    /// <summary>
    /// Waits until anything watched changes (true) or <paramref name="timeout"/> passes (false); throws when
    /// <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task changed = _registrations.Count switch
        {
            0 => Task.Delay(Timeout.Infinite, cancellationToken),
            1 => _registrations[0].Changed,
            _ => Task.WhenAny(_registrations.Select(r => r.Changed)),
        };
        if (changed.IsCompleted) return true;
        try
        {
            await changed.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _registrations.Clear();
    }
}
