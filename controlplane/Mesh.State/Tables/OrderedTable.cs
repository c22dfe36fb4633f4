using System.Collections.Immutable;

namespace Mesh.State.Tables;

/// <summary>
/// An immutable table of rows keyed by a string, ordered by key (ordinal) so prefix ranges can be read without a
/// full scan. Every change returns a new table sharing most of its structure with the old one; readers holding the
/// old one are never disturbed.
/// </summary>
public sealed class OrderedTable<TRow> where TRow : class
{
    /// <summary>The empty table.</summary>
    public static readonly OrderedTable<TRow> Empty = new(
        ImmutableSortedSet.Create<string>(StringComparer.Ordinal), ImmutableDictionary.Create<string, TRow>(StringComparer.Ordinal));

    private readonly ImmutableSortedSet<string> _keys;
    private readonly ImmutableDictionary<string, TRow> _rows;

    private OrderedTable(ImmutableSortedSet<string> keys, ImmutableDictionary<string, TRow> rows)
    {
        _keys = keys;
        _rows = rows;
    }

    /// <summary>Number of rows.</summary>
    public int Count => _rows.Count;

    /// <summary>The row with <paramref name="key"/>, or null.</summary>
    public TRow? Get(string key) => _rows.GetValueOrDefault(key);

    /// <summary>A table with <paramref name="row"/> stored under <paramref name="key"/>.</summary>
    public OrderedTable<TRow> Set(string key, TRow row) =>
        _rows.ContainsKey(key) ? new(_keys, _rows.SetItem(key, row)) : new(_keys.Add(key), _rows.Add(key, row));

    /// <summary>A table without <paramref name="key"/>.</summary>
    public OrderedTable<TRow> Remove(string key) =>
        _rows.ContainsKey(key) ? new(_keys.Remove(key), _rows.Remove(key)) : this;

    /// <summary>Rows whose key starts with <paramref name="prefix"/>, in key order.</summary>
    public IEnumerable<TRow> Prefix(string prefix)
    {
        if (prefix.Length == 0)
        {
            foreach (var key in _keys) yield return _rows[key];
            yield break;
        }
        var i = _keys.IndexOf(prefix);
        if (i < 0) i = ~i;
        for (; i < _keys.Count; i++)
        {
            var key = _keys[i];
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) yield break;
            yield return _rows[key];
        }
    }

    /// <summary>Every row in key order.</summary>
    public IEnumerable<TRow> All() => Prefix("");

    /// <summary>Builds a table from rows (used by restore).</summary>
    public static OrderedTable<TRow> From(IEnumerable<TRow> rows, Func<TRow, string> key)
    {
        var keys = ImmutableSortedSet.CreateBuilder<string>(StringComparer.Ordinal);
        var map = ImmutableDictionary.CreateBuilder<string, TRow>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var k = key(row);
            keys.Add(k);
            map[k] = row;
        }
        return new OrderedTable<TRow>(keys.ToImmutable(), map.ToImmutable());
    }
}
