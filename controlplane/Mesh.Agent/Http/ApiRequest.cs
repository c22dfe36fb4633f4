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
        if (Get("wait") is { } w && (!GoDuration.TryParse(w, out wait) || wait < TimeSpan.Zero))
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
        using var ms = new MemoryStream(declared is > 0 ? (int)declared.Value : 256);
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await Http.Request.Body.ReadAsync(buffer, Aborted).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + read > limit) throw TooLarge(ms.Length + read, limit);
            ms.Write(buffer, 0, read);
        }
        return ms.ToArray();
    }

    private static ApiException TooLarge(long size, int limit) =>
        new(413, $"Request body ({size} bytes) too large, max size: {limit} bytes");
}
