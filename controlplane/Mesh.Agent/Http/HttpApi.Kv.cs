using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

// /v1/kv/<key>: GET (?recurse ?keys ?separator ?raw), PUT (?flags ?cas ?acquire ?release), DELETE (?recurse ?cas).
internal sealed partial class HttpApi
{
    private Task Kv(ApiRequest r) => r.Method switch
    {
        "GET" => KvGet(r),
        "PUT" => KvPut(r),
        _ => KvDelete(r),
    };

    private async Task KvGet(ApiRequest r)
    {
        var key = r.Suffix;
        if (r.Has("keys"))
        {
            // "seperator" is the spelling older Consul clients send.
            var separator = r.Get("separator") ?? r.Get("seperator");
            var (index, keys) = await BlockingAsync(r, (v, ws) => v.KvKeys(key, separator, ws), x => x.Index).ConfigureAwait(false);
            // An empty listing of the root is an empty array; of anything else, a 404.
            if (keys.Count == 0 && key.Length > 0)
            {
                r.Http.Response.StatusCode = 404;
                return;
            }
            await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
            {
                w.WriteStartArray();
                foreach (var k in keys) w.WriteStringValue(k);
                w.WriteEndArray();
            }).ConfigureAwait(false);
            return;
        }

        if (r.Has("recurse"))
        {
            var (_, entries) = await BlockingAsync(r, (v, ws) => v.KvList(key, ws), x => x.Index).ConfigureAwait(false);
            if (entries.Count == 0)
            {
                r.Http.Response.StatusCode = 404;
                return;
            }
            await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
            {
                w.WriteStartArray();
                foreach (var e in entries) JsonOut.Kv(w, e);
                w.WriteEndArray();
            }).ConfigureAwait(false);
            return;
        }

        if (key.Length == 0) throw ApiException.BadRequest("Missing key name");
        var (_, entry) = await BlockingAsync(r, (v, ws) => v.KvGet(key, ws), x => x.Index).ConfigureAwait(false);
        if (entry is null)
        {
            r.Http.Response.StatusCode = 404;
            return;
        }
        if (r.Has("raw"))
        {
            r.Http.Response.ContentType = "text/plain";
            r.Http.Response.Headers["X-Content-Type-Options"] = "nosniff";
            r.Http.Response.ContentLength = entry.Value?.Length ?? 0;
            if (entry.Value is { } value) await r.Http.Response.Body.WriteAsync(value, r.Aborted).ConfigureAwait(false);
            return;
        }
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartArray();
            JsonOut.Kv(w, entry);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private async Task KvPut(ApiRequest r)
    {
        var key = r.Suffix;
        if (key.Length == 0) throw ApiException.BadRequest("Missing key name");
        var flags = r.UInt64("flags") ?? 0;
        var cas = r.UInt64("cas");
        var acquire = r.Has("acquire") ? r.Get("acquire") ?? "" : null;
        var release = r.Has("release") ? r.Get("release") ?? "" : null;
        if ((cas is not null ? 1 : 0) + (acquire is not null ? 1 : 0) + (release is not null ? 1 : 0) > 1)
            throw ApiException.BadRequest("Conflicting flags: only one of cas, acquire and release may be given");
        if (acquire is "" || release is "") throw ApiException.BadRequest("Missing session ID for acquire or release");

        var value = await r.ReadBodyAsync(MaxKvValueSize).ConfigureAwait(false);
        KvOp op;
        if (acquire is not null)
        {
            RequireSession(acquire);
            // Lock-delay: after a session holding this key was invalidated, nobody may take it for a while, so the
            // old holder has time to notice it lost the lock. Checked on the leader before the write, as Consul does.
            if (_store.View().KvLockDelay(key, DateTime.UtcNow) is not null)
            {
                await JsonOut.WriteBoolAsync(r.Http, Pretty(r), false).ConfigureAwait(false);
                return;
            }
            op = new KvOp(KvVerbs.Lock, key, value, flags, Session: acquire);
        }
        // Releasing with a session that has since ended is not an error: the lock is simply not held, so the answer
        // is false (clients releasing after losing their session rely on that).
        else if (release is not null) op = new KvOp(KvVerbs.Unlock, key, value, flags, Session: release);
        else if (cas is not null) op = new KvOp(KvVerbs.Cas, key, value, flags, cas.Value);
        else op = new KvOp(KvVerbs.Set, key, value, flags);

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (result, _) = await _writer.ApplyAsync(new KvCommand(op), CancellationToken.None).ConfigureAwait(false);
        _metrics.Sample("kvs.apply", System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        if (result.Error is not null) throw ApiException.BadRequest(result.Error);
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), result.Ok).ConfigureAwait(false);
    }

    private async Task KvDelete(ApiRequest r)
    {
        var key = r.Suffix;
        var recurse = r.Has("recurse");
        var cas = r.UInt64("cas");
        if (recurse && cas is not null) throw ApiException.BadRequest("Conflicting flags: cas cannot be used with recurse");
        if (key.Length == 0 && !recurse) throw ApiException.BadRequest("Missing key name");
        var op = recurse ? new KvOp(KvVerbs.DeleteTree, key)
            : cas is not null ? new KvOp(KvVerbs.DeleteCas, key, Index: cas.Value)
            : new KvOp(KvVerbs.Delete, key);
        var (result, _) = await _writer.ApplyAsync(new KvCommand(op), CancellationToken.None).ConfigureAwait(false);
        if (result.Error is not null) throw ApiException.BadRequest(result.Error);
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), result.Ok).ConfigureAwait(false);
    }

    /// <summary>Refuses a session ID that is not a session, with a 400 that says so.</summary>
    private Session RequireSession(string id)
    {
        var (_, session) = _store.View().SessionGet(id);
        return session ?? throw ApiException.BadRequest($"Invalid session: \"{id}\" does not exist");
    }
}
