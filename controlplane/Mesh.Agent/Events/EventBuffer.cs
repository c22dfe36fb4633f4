using System.Text.RegularExpressions;

namespace Mesh.Agent.Events;

/// <summary>
/// The agent's recent user events: the last 256 delivered to this agent, oldest first, as Consul keeps them. Events
/// are delivered locally when their filters match this agent; gossip delivery to other agents plugs in with the
/// gossip layer. Readers block on the task <see cref="List"/> returns, which completes on the next delivery.
/// </summary>
public sealed class EventBuffer
{
    /// <summary>How many events are kept.</summary>
    public const int Capacity = 256;

    private readonly object _gate = new();
    private readonly Queue<UserEvent> _events = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ulong _ltime;

    /// <summary>Lamport time of the last delivered event (the list's blocking index).</summary>
    public ulong LastLTime
    {
        get { lock (_gate) return _ltime; }
    }

    /// <summary>Delivers <paramref name="ev"/> if its filters match; returns the stored copy, or null when filtered out.</summary>
    public UserEvent? Deliver(UserEvent ev, string nodeName, IEnumerable<(string Service, IReadOnlyList<string> Tags)> localServices)
    {
        if (!Matches(ev, nodeName, localServices)) return null;
        TaskCompletionSource fired;
        UserEvent stored;
        lock (_gate)
        {
            stored = ev with { LTime = ++_ltime };
            _events.Enqueue(stored);
            while (_events.Count > Capacity) _events.Dequeue();
            fired = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        fired.TrySetResult();
        return stored;
    }

    /// <summary>Events (optionally only those named <paramref name="name"/>), oldest first, and the blocking index.</summary>
    public (ulong Index, IReadOnlyList<UserEvent> Events, Task Next) List(string? name)
    {
        lock (_gate)
        {
            var list = _events.Where(e => string.IsNullOrEmpty(name) || e.Name == name).ToList();
            return (_ltime, list, _next.Task);
        }
    }

    private static bool Matches(UserEvent ev, string nodeName, IEnumerable<(string Service, IReadOnlyList<string> Tags)> services)
    {
        if (ev.NodeFilter.Length > 0 && !Regex.IsMatch(nodeName, ev.NodeFilter, RegexOptions.None, TimeSpan.FromMilliseconds(100)))
            return false;
        if (ev.ServiceFilter.Length == 0) return true;
        foreach (var (service, tags) in services)
        {
            if (!Regex.IsMatch(service, ev.ServiceFilter, RegexOptions.None, TimeSpan.FromMilliseconds(100))) continue;
            if (ev.TagFilter.Length == 0 || tags.Any(t => Regex.IsMatch(t, ev.TagFilter, RegexOptions.None, TimeSpan.FromMilliseconds(100))))
                return true;
        }
        return false;
    }
}
