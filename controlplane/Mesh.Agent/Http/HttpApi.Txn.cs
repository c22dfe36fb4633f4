using System.Text.Json;
using Mesh.State;
using Mesh.State.Commands;

namespace Mesh.Agent.Http;

// /v1/txn: KV operations applied atomically. A transaction of reads only is answered from the local state without
// going through the log, as Consul does.
internal sealed partial class HttpApi
{
    private async Task Txn(ApiRequest r)
    {
        var body = await r.ReadBodyAsync(MaxTxnBodySize).ConfigureAwait(false);
        var ops = ParseTxn(body);

        CommandResult result;
        if (ops.All(o => KvVerbs.ReadOnly.Contains(o.Verb)))
        {
            var opts = r.QueryOptions();
            if (opts.Consistent) await _log.VerifyLeaderAsync(r.Aborted).ConfigureAwait(false);
            var view = _store.View();
            result = view.ReadTxn(ops);
            SetMeta(r, view.Index, opts);
        }
        else if (LockDelayed(ops) is { Count: > 0 } delayed)
        {
            // As Consul's pre-check: a lock inside its lock-delay fails the whole transaction before it is proposed.
            result = new CommandResult(false, Errors: delayed);
        }
        else
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            (result, _) = await _writer.ApplyAsync(new TxnCommand(ops), CancellationToken.None).ConfigureAwait(false);
            _metrics.Sample("txn.apply", System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (result.Error is not null) throw ApiException.BadRequest(result.Error);
        }

        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            if (result.Errors is null)
            {
                w.WriteStartArray("Results");
                foreach (var res in result.Results ?? [])
                {
                    w.WriteStartObject();
                    w.WritePropertyName("KV");
                    JsonOut.Kv(w, res.KV);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNull("Errors");
            }
            else
            {
                w.WriteNull("Results");
                w.WriteStartArray("Errors");
                foreach (var e in result.Errors)
                {
                    w.WriteStartObject();
                    w.WriteNumber("OpIndex", e.OpIndex);
                    w.WriteString("What", e.What);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }, result.Errors is null ? 200 : 409).ConfigureAwait(false);
    }

    private List<TxnError> LockDelayed(List<KvOp> ops)
    {
        var view = _store.View();
        var now = DateTime.UtcNow;
        var errors = new List<TxnError>();
        for (var i = 0; i < ops.Count; i++)
        {
            if (ops[i].Verb == KvVerbs.Lock && view.KvLockDelay(ops[i].Key, now) is not null)
                errors.Add(new TxnError(i, $"failed to lock key \"{ops[i].Key}\" due to lock delay"));
        }
        return errors;
    }

    private static List<KvOp> ParseTxn(byte[] body)
    {
        using var doc = JsonIn.Parse(body);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("Failed to parse body: a transaction is a JSON array of operations");
        var count = root.GetArrayLength();
        if (count > MaxTxnOps) throw new ApiException(413, $"Transaction contains too many operations ({count} > {MaxTxnOps})");
        var ops = new List<KvOp>(count);
        var i = 0;
        foreach (var item in root.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"Failed to parse body: operation {i} is not an object");
            if (!JsonIn.TryGet(item, "KV", out var kv))
            {
                var kind = item.EnumerateObject().Select(p => p.Name).FirstOrDefault() ?? "(empty)";
                throw ApiException.BadRequest($"Operation {i}: {kind} operations are not supported; only KV operations are");
            }
            var verb = JsonIn.String(kv, "Verb") ?? throw ApiException.BadRequest($"Operation {i}: missing Verb");
            if (!KvVerbs.All.Contains(verb)) throw ApiException.BadRequest($"Operation {i}: unknown KV verb \"{verb}\"");
            var key = JsonIn.String(kv, "Key") ?? "";
            if (key.Length == 0 && verb is not (KvVerbs.GetTree or KvVerbs.DeleteTree))
                throw ApiException.BadRequest($"Operation {i}: missing Key");
            var value = JsonIn.Base64(kv, "Value");
            if (value is { Length: > MaxKvValueSize })
                throw new ApiException(413, $"Value for key \"{key}\" is too large ({value.Length} > {MaxKvValueSize} bytes)");
            var session = JsonIn.String(kv, "Session");
            if (verb is KvVerbs.Lock or KvVerbs.Unlock && string.IsNullOrEmpty(session))
                throw ApiException.BadRequest($"Operation {i}: {verb} needs a Session");
            ops.Add(new KvOp(verb, key, value, JsonIn.UInt64(kv, "Flags"), JsonIn.UInt64(kv, "Index"), session));
            i++;
        }
        return ops;
    }
}
