using Mesh.State.Text;
using System.Globalization;
using Mesh.Agent.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Mesh.Agent.Http;

/// <summary>One API request: the route's remainder of the path and typed, validated access to the query string.</summary>
internal sealed class ApiRequest
{
    public ApiRequest(HttpContext http, string suffix)
    {
        Http = http;
        Suffix = suffix;
    }

    public HttpContext Http { get; }

    /// <summary>What follows the route's prefix: the KV key, the session ID...</summary>
    public string Suffix { get; }

    public string Method => Http.Request.Method;

    public CancellationToken Aborted => Http.RequestAborted;

    /// <summary>Whether the parameter is present at all (Consul treats <c>?recurse</c> and <c>?recurse=false</c> alike).</summary>
    public bool Has(string name) => Http.Request.Query.ContainsKey(name);

    public string? Get(string name)
    {
        var v = Http.Request.Query[name];
        return StringValues.IsNullOrEmpty(v) ? null : v[0];
    }

    public IReadOnlyList<string> GetAll(string name) => Http.Request.Query[name].Where(v => v is not null).ToList()!;

    /// <summary>An unsigned integer parameter; a malformed one is a 400 naming the parameter.</summary>
    public ulong? UInt64(string name)
    {
        var v = Get(name);
        if (v is null) return Has(name) ? throw ApiException.BadRequest($"Invalid {name}: a number is required") : null;
        return ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n : throw ApiException.BadRequest($"Invalid {name}: \"{v}\" is not an unsigned integer");
    }

    /// <summary>Parses <c>?index ?wait ?stale ?consistent ?max_stale</c> with Consul's rules and messages.</summary>
    public QueryOptions QueryOptions()
    {
        ulong index = 0;
        if (Get("index") is { } idx && !ulong.TryParse(idx, NumberStyles.None, CultureInfo.InvariantCulture, out index))
            throw ApiException.BadRequest("Invalid index");
        var wait = TimeSpan.Zero;
        // A zero or negative wait is valid and means "the default", as Consul reads it.
        if (Get("wait") is { } w && !GoDuration.TryParse(w, out wait))
            throw ApiException.BadRequest("Invalid wait time");
        var stale = Has("stale");
        var consistent = Has("consistent");
        var maxStale = TimeSpan.Zero;
        if (Get("max_stale") is { } ms)
        {
            if (!GoDuration.TryParse(ms, out maxStale) || maxStale < TimeSpan.Zero) throw ApiException.BadRequest("Invalid max_stale value");
            stale = true;
        }
        if (stale && consistent) throw ApiException.BadRequest("Cannot specify ?stale with ?consistent, conflicting semantics.");
        return new QueryOptions(index, wait, stale, consistent, maxStale);
    }

    /// <summary>Reads the body, refusing more than <paramref name="limit"/> bytes with a 413.</summary>
    public async Task<byte[]> ReadBodyAsync(int limit)
    {
        var declared = Http.Request.ContentLength;
        if (declared > limit) throw TooLarge(declared.Value, limit);
        var body = Http.Request.Body;
        if (declared is { } length)
        {
            // The common case: read straight into an array of the declared size (the server ends the body there).
            var exact = length == 0 ? [] : new byte[length];
            try
            {
                await body.ReadExactlyAsync(exact, Aborted).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                throw ApiException.BadRequest($"Request body ended before its Content-Length of {length} bytes");
            }
            return exact;
        }
        // Chunked: grow through a pooled buffer, refusing as soon as the limit is passed.
        using var buffer = new PooledBufferWriter(4096);
        while (true)
        {
            var read = await body.ReadAsync(buffer.GetMemory(4096), Aborted).ConfigureAwait(false);
            if (read == 0) break;
            buffer.Advance(read);
            if (buffer.WrittenCount > limit) throw TooLarge(buffer.WrittenCount, limit);
        }
        return buffer.WrittenMemory.ToArray();
    }

    private static ApiException TooLarge(long size, int limit) =>
        new(413, $"Request body ({size} bytes) too large, max size: {limit} bytes");
}
