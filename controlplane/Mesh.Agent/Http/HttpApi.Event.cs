using System.Text.RegularExpressions;
using Mesh.Agent.Events;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Http;

// /v1/event/fire/<name> and /v1/event/list.
internal sealed partial class HttpApi
{
    /// <summary>Largest event (name, payload and filters) accepted, as Consul's gossip limit.</summary>
    public const int MaxEventSize = 512;

    private async Task EventFire(ApiRequest r)
    {
        var name = r.Suffix;
        if (name.Length == 0) throw ApiException.BadRequest("Missing name");
        var node = r.Get("node") ?? "";
        var service = r.Get("service") ?? "";
        var tag = r.Get("tag") ?? "";
        if (tag.Length > 0 && service.Length == 0) throw ApiException.BadRequest("Cannot provide tag filter without service filter.");
        foreach (var (what, pattern) in new[] { ("node", node), ("service", service), ("tag", tag) })
        {
            try
            {
                _ = new Regex(pattern, RegexOptions.NonBacktracking);
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                // Filters are RE2-like (as Go's): backreferences and lookarounds are refused too.
                throw ApiException.BadRequest($"Invalid {what} filter: {ex.Message}");
            }
        }
        var payload = await r.ReadBodyAsync(MaxEventSize + 1).ConfigureAwait(false);
        var size = name.Length + payload.Length + node.Length + service.Length + tag.Length;
        if (size > MaxEventSize) throw new ApiException(413, $"User event exceeds limit of {MaxEventSize} bytes ({size} bytes)");

        var ev = new UserEvent
        {
            ID = Guid.NewGuid().ToString(),
            Name = name,
            Payload = payload.Length == 0 ? null : payload,
            NodeFilter = node,
            ServiceFilter = service,
            TagFilter = tag,
        };
        // Local delivery, matched against this agent's node name and its local services (gossip delivery comes later).
        var localServices = (_local?.Services().Values ?? []).Select(s => (s.Service, (IReadOnlyList<string>)s.Tags)).ToList();
        var delivered = _events.Deliver(ev, _identity.NodeName, localServices);
        _metrics.Count("event.fire");
        LogEventFired(name, ev.ID, delivered is not null);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w => JsonOut.Event(w, ev)).ConfigureAwait(false);
    }

    private async Task EventList(ApiRequest r)
    {
        var name = r.Get("name");
        var opts = r.QueryOptions();
        var (index, events, next) = _events.List(name);
        // The index hashes the newest event's ID, so it is not ordered: wait only while it is the one the client has.
        if (opts.MinIndex > 0 && index == opts.MinIndex)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(r.Aborted, Stopping);
            timeout.CancelAfter(opts.WaitWithJitter());
            while (index == opts.MinIndex && !timeout.IsCancellationRequested)
            {
                try
                {
                    await next.WaitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!r.Aborted.IsCancellationRequested)
                {
                    // The wait ran out, or the agent is stopping: answer with what is there.
                }
                (index, events, next) = _events.List(name);
            }
        }
        SetMeta(r, index, opts);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartArray();
            foreach (var e in events) JsonOut.Event(w, e);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "user event {Name} fired (ID {Id}); delivered locally: {Delivered}")]
    private partial void LogEventFired(string name, string id, bool delivered);
}
