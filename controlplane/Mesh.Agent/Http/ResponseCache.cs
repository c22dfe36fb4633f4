using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;

namespace Mesh.Agent.Http;

/// <summary>
/// Rendered answers of the heavy list reads (catalog and health queries), kept per request and index. The index of
/// such an answer moves whenever anything in it changes, so an answer cached at an index stays right until the index
/// moves; thousands of clients polling a 1,000-instance service then cost one rendering (and one compression) per
/// change instead of one per request.
/// </summary>
internal sealed class ResponseCache
{
    private const int MaxEntries = 256;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>An answer: its JSON, and its gzip form made on first demand.</summary>
    public sealed class Entry(ulong index, byte[] json)
    {
        private byte[]? _gzip;

        public ulong Index { get; } = index;
        public byte[] Json { get; } = json;
        public byte[] Gzip => Volatile.Read(ref _gzip) ?? (_gzip = JsonOut.Compress(Json));
    }

    /// <summary>The cached answer for <paramref name="http"/>'s request at <paramref name="index"/>, rendering it when absent.</summary>
    public Entry Get(HttpContext http, ulong index, Func<byte[]> render)
    {
        var key = Key(http);
        if (_entries.TryGetValue(key, out var entry) && entry.Index == index) return entry;
        entry = new Entry(index, render());
        // A bounded cache that forgets everything when full: simple, and a full cache means the working set is
        // larger than any caching would help with anyway.
        if (_entries.Count >= MaxEntries) _entries.Clear();
        _entries[key] = entry;
        return entry;
    }

    /// <summary>
    /// The request without its blocking and consistency parameters, which do not change the answer. The caller's
    /// token (query or header) stays in the key: once ACLs filter answers per token, two callers must not share one.
    /// </summary>
    private static string Key(HttpContext http)
    {
        var query = http.Request.Query
            .Where(q => q.Key is not ("index" or "wait" or "stale" or "consistent" or "max_stale" or "cached"))
            .OrderBy(q => q.Key, StringComparer.Ordinal)
            .Select(q => q.Key + "=" + string.Join(",", q.Value.ToArray()));
        return http.Request.Path.Value + "?" + string.Join("&", query) + "#" + http.Request.Headers["X-Consul-Token"] + "#" +
            http.Request.Headers.Authorization;
    }
}
