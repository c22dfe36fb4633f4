using Mesh.State.Tables;
using Mesh.State.Watch;

namespace Mesh.State;

/// <summary>A prepared query that cannot be resolved as asked (a template looked up by its ID). The message is Consul's.</summary>
public sealed class PreparedQueryException(string message) : Exception(message);

// Prepared-query reads. Lists and single reads report the table's index, as Consul does; resolution by ID or name is
// what executing a query (HTTP or DNS) starts with.
public sealed partial class StateView
{
    /// <summary>Every prepared query, in ID order.</summary>
    public (ulong Index, IReadOnlyList<PreparedQuery> Queries) PreparedQueryList(WatchSet? ws = null)
    {
        ws?.Prefix(TableNames.PreparedQueries, "");
        return (TableIndex(TableNames.PreparedQueries), _root.PreparedQueries.All().ToList());
    }

    /// <summary>One prepared query by ID (any case), or null.</summary>
    public (ulong Index, PreparedQuery? Query) PreparedQueryGet(string id, WatchSet? ws = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        var query = WriteTxn.FindById(_root, id);
        ws?.Key(TableNames.PreparedQueries, query?.ID ?? id);
        return (TableIndex(TableNames.PreparedQueries), query);
    }

    /// <summary>
    /// Finds the query <paramref name="idOrName"/> names, as Consul resolves it: by ID when it looks like a UUID, then
    /// by exact name, then the template with the longest name that prefixes it (the empty-named catch-all last);
    /// names compare regardless of case. A template comes back rendered for <paramref name="idOrName"/>. Null when
    /// nothing matches.
    /// </summary>
    /// <exception cref="PreparedQueryException"><paramref name="idOrName"/> is the ID of a template.</exception>
    public (ulong Index, PreparedQuery? Query) PreparedQueryResolve(string idOrName)
    {
        ArgumentNullException.ThrowIfNull(idOrName);
        var index = TableIndex(TableNames.PreparedQueries);
        if (idOrName.Length == 0) return (index, null);
        if (WriteTxn.LooksLikeUuid(idOrName) && WriteTxn.FindById(_root, idOrName) is { } byId)
        {
            return byId.IsTemplate
                ? throw new PreparedQueryException("prepared query templates can only be resolved up by name, not by ID")
                : (index, byId);
        }

        var lower = idOrName.ToLowerInvariant();
        if (_root.QueryNames.TryGetValue(lower, out var id))
        {
            return _root.QueryTemplates.TryGetValue(id, out var named)
                ? (index, named.Render(idOrName))
                : (index, _root.PreparedQueries.Get(id));
        }

        // Templates are few; a walk over them is cheaper than keeping a prefix tree current.
        Queries.QueryTemplate? best = null;
        foreach (var t in _root.QueryTemplates.Values)
        {
            if (lower.StartsWith(t.LowerName, StringComparison.Ordinal) && (best is null || t.LowerName.Length > best.LowerName.Length))
                best = t;
        }
        return (index, best?.Render(idOrName));
    }
}
