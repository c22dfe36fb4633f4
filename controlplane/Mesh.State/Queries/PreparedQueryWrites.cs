using System.Collections.Immutable;
using Mesh.State.Queries;
using Mesh.State.Tables;

namespace Mesh.State;

// Prepared queries, with the integrity rules of Consul's state store: names are unique regardless of case, at most one
// template has the empty name (the catch-all), a name may not look like another query's ID, the session must exist,
// and a template must compile. The derived indexes (by name, compiled templates, by session) change with the rows.
internal sealed partial class WriteTxn
{
    /// <summary>Consul's answer to an update or delete of an ID that does not exist.</summary>
    public static string QueryNotFoundMessage(string id) => $"Cannot modify non-existent prepared query: '{id}'";

    /// <summary>Creates or replaces a prepared query. A write that changes nothing moves no index.</summary>
    /// <exception cref="StoreException">The query breaks one of the rules above.</exception>
    public PreparedQuery PreparedQuerySet(PreparedQuery query)
    {
        if (query.ID.Length == 0) throw new StoreException("Missing query ID");
        var existing = Root.PreparedQueries.Get(query.ID);
        if (query.Name.Length > 0)
        {
            if (Root.QueryNames.TryGetValue(query.Name.ToLowerInvariant(), out var other) && other != query.ID)
                throw new StoreException($"name '{query.Name}' aliases an existing query name");
        }
        else if (query.IsTemplate && Root.QueryTemplates.Values.Any(t => t.Query.Name.Length == 0 && t.Query.ID != query.ID))
        {
            throw new StoreException("a query template with an empty name already exists");
        }
        // Queries are looked up by ID before name: a name equal to another query's ID could hijack lookups of it.
        if (LooksLikeUuid(query.Name) && FindById(Root, query.Name) is not null)
            throw new StoreException($"name '{query.Name}' aliases an existing query ID");
        if (query.Session.Length > 0 && Root.Sessions.Get(query.Session) is null)
            throw new StoreException($"invalid session \"{query.Session}\"");
        var row = query with { CreateIndex = existing?.CreateIndex ?? Index, ModifyIndex = Index };
        QueryTemplate? template = null;
        if (row.IsTemplate)
        {
            try
            {
                template = QueryTemplate.Compile(row);
            }
            catch (QueryTemplateException ex)
            {
                throw new StoreException($"failed compiling template: {ex.Message}");
            }
        }

        if (existing is not null && existing.SameContent(row)) return existing;
        RemoveQueryIndexes(existing);
        Root = Root with
        {
            PreparedQueries = Root.PreparedQueries.Set(row.ID, row),
            QueryNames = row.Name.Length > 0 ? Root.QueryNames.SetItem(row.Name.ToLowerInvariant(), row.ID) : Root.QueryNames,
            QueryTemplates = template is not null ? Root.QueryTemplates.SetItem(row.ID, template) : Root.QueryTemplates,
            QueriesBySession = row.Session.Length > 0 ? AddKey(Root.QueriesBySession, row.Session, row.ID) : Root.QueriesBySession,
        };
        Changed(TableNames.PreparedQueries, row.ID);
        return row;
    }

    /// <summary>Deletes a prepared query. Returns false when it did not exist.</summary>
    public bool PreparedQueryDelete(string id)
    {
        var existing = Root.PreparedQueries.Get(id);
        if (existing is null) return false;
        RemoveQueryIndexes(existing);
        Root = Root with { PreparedQueries = Root.PreparedQueries.Remove(id) };
        Changed(TableNames.PreparedQueries, id);
        return true;
    }

    /// <summary>Deletes the queries tied to <paramref name="session"/> (called as the session ends, as Consul does).</summary>
    private void DeleteQueriesOfSession(string session)
    {
        if (!Root.QueriesBySession.TryGetValue(session, out var ids)) return;
        foreach (var id in ids) PreparedQueryDelete(id);
    }

    private void RemoveQueryIndexes(PreparedQuery? existing)
    {
        if (existing is null) return;
        var bySession = Root.QueriesBySession;
        if (existing.Session.Length > 0 && bySession.TryGetValue(existing.Session, out var ids))
        {
            ids = ids.Remove(existing.ID);
            bySession = ids.IsEmpty ? bySession.Remove(existing.Session) : bySession.SetItem(existing.Session, ids);
        }
        Root = Root with
        {
            QueryNames = existing.Name.Length > 0 ? Root.QueryNames.Remove(existing.Name.ToLowerInvariant()) : Root.QueryNames,
            QueryTemplates = Root.QueryTemplates.Remove(existing.ID),
            QueriesBySession = bySession,
        };
    }

    private static ImmutableDictionary<string, ImmutableSortedSet<string>> AddKey(
        ImmutableDictionary<string, ImmutableSortedSet<string>> map, string key, string value) =>
        map.SetItem(key, (map.TryGetValue(key, out var set) ? set : EmptyKeys).Add(value));

    /// <summary>Consul's test for "looks like a UUID": 8-4-4-4-12 hex digits, any case.</summary>
    internal static bool LooksLikeUuid(string s)
    {
        if (s.Length != 36) return false;
        for (var i = 0; i < s.Length; i++)
        {
            var dash = i is 8 or 13 or 18 or 23;
            if (dash ? s[i] != '-' : !char.IsAsciiHexDigit(s[i])) return false;
        }
        return true;
    }

    /// <summary>The query with ID <paramref name="id"/>, matched regardless of case as Consul's UUID index does.</summary>
    internal static PreparedQuery? FindById(StoreRoot root, string id) =>
        root.PreparedQueries.Get(id) ?? root.PreparedQueries.Get(id.ToLowerInvariant());
}
