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

    /// <summary>
    /// Events (optionally only those named <paramref name="name"/>), oldest first, and the list's index: Consul's
    /// hash of the newest event's ID (see <see cref="IndexOf"/>), or 1 when there is none. The index is not
    /// monotonic, so a blocking reader waits only while it equals the index it already has.
    /// </summary>
    public (ulong Index, IReadOnlyList<UserEvent> Events, Task Next) List(string? name)
    {
        lock (_gate)
        {
            var list = _events.Where(e => string.IsNullOrEmpty(name) || e.Name == name).ToList();
            return (list.Count == 0 ? 1 : IndexOf(list[^1].ID), list, _next.Task);
        }
    }

    /// <summary>
    /// The index of an event list whose newest event has <paramref name="id"/>: the first 64 bits of the UUID's hex
    /// digits XOR the last 64, as Consul computes it, so watch clients that remember it keep working.
    /// </summary>
    public static ulong IndexOf(string id)
    {
        if (!Guid.TryParse(id, out var guid)) return 1;
        var hex = guid.ToString("N");
        var value = Convert.ToUInt64(hex[..16], 16) ^ Convert.ToUInt64(hex[16..], 16);
        return value == 0 ? 1 : value;
    }

    private static bool Matches(UserEvent ev, string nodeName, IEnumerable<(string Service, IReadOnlyList<string> Tags)> services)
    {
        if (ev.NodeFilter.Length > 0 && !Regex.IsMatch(nodeName, ev.NodeFilter, RegexOptions.NonBacktracking))
            return false;
        if (ev.ServiceFilter.Length == 0) return true;
        foreach (var (service, tags) in services)
        {
            if (!Regex.IsMatch(service, ev.ServiceFilter, RegexOptions.NonBacktracking)) continue;
            if (ev.TagFilter.Length == 0 || tags.Any(t => Regex.IsMatch(t, ev.TagFilter, RegexOptions.NonBacktracking)))
                return true;
        }
        return false;
    }
}
