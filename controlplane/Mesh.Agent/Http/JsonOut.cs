using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Mesh.Agent.Events;
using Mesh.State.Tables;
using Microsoft.AspNetCore.Http;

namespace Mesh.Agent.Http;

/// <summary>
/// Writes responses in Consul's JSON shapes: PascalCase fields in Consul's order, compact unless pretty is asked for
/// (or always in dev mode, as Consul does), with a trailing newline when pretty. Bodies are built in memory so the
/// response carries a Content-Length, which keeps small answers in one write.
/// </summary>
internal static class JsonOut
{
    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };
    private static readonly JsonWriterOptions Pretty = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true, IndentSize = 4, SkipValidation = true,
    };

    // One writer of each kind per thread, reset onto each response's buffer: the JSON is written synchronously, so a
    // writer never outlives the call that borrowed it.
    [ThreadStatic] private static Utf8JsonWriter? t_compact;
    [ThreadStatic] private static Utf8JsonWriter? t_pretty;

    /// <summary>Answers smaller than this are sent as they are, as Consul's gzip handler does.</summary>
    public const int GzipMinSize = 1400;

    public static async Task WriteAsync(HttpContext http, bool pretty, Action<Utf8JsonWriter> write, int status = 200)
    {
        using var buffer = new PooledBufferWriter();
        Render(buffer, pretty, write);
        if (buffer.WrittenCount >= GzipMinSize && AcceptsGzip(http))
        {
            await SendAsync(http, status, Compress(buffer.WrittenMemory.Span), gzip: true).ConfigureAwait(false);
            return;
        }
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = buffer.WrittenCount;
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Renders JSON into a new array (for the response cache).</summary>
    public static byte[] RenderToArray(bool pretty, Action<Utf8JsonWriter> write)
    {
        using var buffer = new PooledBufferWriter();
        Render(buffer, pretty, write);
        return buffer.WrittenMemory.ToArray();
    }

    /// <summary>Sends a cached answer, compressed when the client takes gzip and the answer is large enough.</summary>
    public static Task WriteCachedAsync(HttpContext http, ResponseCache.Entry entry) =>
        entry.Json.Length >= GzipMinSize && AcceptsGzip(http)
            ? SendAsync(http, 200, entry.Gzip, gzip: true)
            : SendAsync(http, 200, entry.Json, gzip: false);

    private static async Task SendAsync(HttpContext http, int status, byte[] body, bool gzip)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        if (gzip) http.Response.Headers.ContentEncoding = "gzip";
        http.Response.Headers.Vary = "Accept-Encoding";
        http.Response.ContentLength = body.Length;
        await http.Response.Body.WriteAsync(body, http.RequestAborted).ConfigureAwait(false);
    }

    private static bool AcceptsGzip(HttpContext http)
    {
        foreach (var value in http.Request.Headers.AcceptEncoding)
            if (value is not null && value.Contains("gzip", StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Gzip at the fastest level: answers are compressed on the request path (or once, when cached).</summary>
    public static byte[] Compress(ReadOnlySpan<byte> json)
    {
        using var output = new MemoryStream(json.Length / 4 + 64);
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(json);
        return output.ToArray();
    }

    private static void Render(PooledBufferWriter buffer, bool pretty, Action<Utf8JsonWriter> write)
    {
        var w = pretty ? t_pretty ??= new Utf8JsonWriter(buffer, Pretty) : t_compact ??= new Utf8JsonWriter(buffer, Compact);
        w.Reset(buffer);
        try
        {
            write(w);
            w.Flush();
        }
        finally
        {
            // Detach from the buffer (which goes back to the pool) so the cached writer holds nothing of this response.
            w.Reset(Stream.Null);
        }
        if (pretty) buffer.Write("\n"u8);
    }

    public static Task WriteBoolAsync(HttpContext http, bool pretty, bool value) => WriteAsync(http, pretty, w => w.WriteBooleanValue(value));

    public static void Kv(Utf8JsonWriter w, KvEntry e, bool withValue = true)
    {
        w.WriteStartObject();
        w.WriteNumber("LockIndex", e.LockIndex);
        w.WriteString("Key", e.Key);
        w.WriteNumber("Flags", e.Flags);
        if (withValue && e.Value is not null) w.WriteBase64String("Value", e.Value);
        else w.WriteNull("Value");
        if (e.Session is not null) w.WriteString("Session", e.Session);
        w.WriteNumber("CreateIndex", e.CreateIndex);
        w.WriteNumber("ModifyIndex", e.ModifyIndex);
        w.WriteEndObject();
    }

    public static void Session(Utf8JsonWriter w, Session s)
    {
        w.WriteStartObject();
        w.WriteString("ID", s.ID);
        w.WriteString("Name", s.Name);
        w.WriteString("Node", s.Node);
        w.WriteNumber("LockDelay", s.LockDelay.Ticks * 100);
        w.WriteString("Behavior", s.Behavior == SessionBehavior.Delete ? "delete" : "release");
        w.WriteString("TTL", s.TTL);
        w.WriteStartArray("NodeChecks");
        foreach (var c in s.NodeChecks) w.WriteStringValue(c);
        w.WriteEndArray();
        if (s.ServiceChecks.IsDefaultOrEmpty) w.WriteNull("ServiceChecks");
        else
        {
            w.WriteStartArray("ServiceChecks");
            foreach (var c in s.ServiceChecks)
            {
                w.WriteStartObject();
                w.WriteString("ID", c.ID);
                w.WriteString("Namespace", c.Namespace);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteNumber("CreateIndex", s.CreateIndex);
        w.WriteNumber("ModifyIndex", s.ModifyIndex);
        w.WriteEndObject();
    }

    public static void Event(Utf8JsonWriter w, UserEvent e)
    {
        w.WriteStartObject();
        w.WriteString("ID", e.ID);
        w.WriteString("Name", e.Name);
        if (e.Payload is { Length: > 0 }) w.WriteBase64String("Payload", e.Payload);
        else w.WriteNull("Payload");
        w.WriteString("NodeFilter", e.NodeFilter);
        w.WriteString("ServiceFilter", e.ServiceFilter);
        w.WriteString("TagFilter", e.TagFilter);
        w.WriteNumber("Version", e.Version);
        w.WriteNumber("LTime", e.LTime);
        w.WriteEndObject();
    }

    public static void StringMap(Utf8JsonWriter w, string name, IEnumerable<KeyValuePair<string, string>> map)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in map.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
    }
}
