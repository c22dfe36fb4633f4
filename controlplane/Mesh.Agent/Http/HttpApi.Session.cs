using Mesh.State.Text;
using System.Collections.Immutable;
using System.Text.Json;
using Mesh.Agent.Config;
using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

// /v1/session/*: create, destroy, renew, info, node, list.
internal sealed partial class HttpApi
{
    /// <summary>Lock-delay when none is given (Consul's).</summary>
    public static readonly TimeSpan DefaultLockDelay = TimeSpan.FromSeconds(15);

    /// <summary>Longest session TTL accepted.</summary>
    public static readonly TimeSpan MaxSessionTtl = TimeSpan.FromHours(24);

    private async Task SessionCreate(ApiRequest r)
    {
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        var session = ParseSession(body);
        var (result, _) = await _writer.ApplyAsync(new SessionCreateCommand(session), CancellationToken.None).ConfigureAwait(false);
        if (result.Error is not null) throw ApiException.BadRequest(result.Error);
        _sessionTimers.Reset(session.ID, session.TTL);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WriteString("ID", session.ID);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private Session ParseSession(byte[] body)
    {
        var session = new Session
        {
            ID = Guid.NewGuid().ToString(),
            Node = _identity.NodeName,
            LockDelay = DefaultLockDelay,
            NodeChecks = ["serfHealth"],
        };
        if (body.Length == 0) return session;
        using var doc = JsonIn.Parse(body);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("Request decode failed: the body must be a JSON object");

        if (JsonIn.String(root, "Name") is { } name) session = session with { Name = name };
        if (JsonIn.String(root, "Node") is { Length: > 0 } node) session = session with { Node = node };
        if (JsonIn.TryGet(root, "LockDelay", out var ld)) session = session with { LockDelay = ParseLockDelay(ld) };
        if (JsonIn.String(root, "Behavior") is { Length: > 0 } behavior)
        {
            session = session with
            {
                Behavior = behavior switch
                {
                    "release" => SessionBehavior.Release,
                    "delete" => SessionBehavior.Delete,
                    _ => throw ApiException.BadRequest($"Invalid Behavior setting '{behavior}'"),
                },
            };
        }
        if (JsonIn.String(root, "TTL") is { Length: > 0 } ttl)
        {
            if (!GoDuration.TryParse(ttl, out var d)) throw ApiException.BadRequest($"Invalid Session TTL '{ttl}'");
            if (d != TimeSpan.Zero && (d < _config.SessionTtlMin || d > MaxSessionTtl))
                throw ApiException.BadRequest($"Invalid Session TTL '{ttl}', must be between [{GoDuration.Format(_config.SessionTtlMin)}={GoDuration.Format(MaxSessionTtl)}]");
            session = session with { TTL = d == TimeSpan.Zero ? "" : ttl };
        }

        // "Checks" is the pre-1.7 name of NodeChecks; either given (even empty) replaces the serfHealth default.
        var hasChecks = JsonIn.TryGet(root, "Checks", out _);
        var hasNodeChecks = JsonIn.TryGet(root, "NodeChecks", out _);
        if (hasChecks || hasNodeChecks)
            session = session with { NodeChecks = [.. JsonIn.Strings(root, "NodeChecks").Concat(JsonIn.Strings(root, "Checks")).Distinct()] };
        if (JsonIn.TryGet(root, "ServiceChecks", out var sc))
        {
            if (sc.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("Request decode failed: ServiceChecks must be an array");
            session = session with
            {
                ServiceChecks = sc.EnumerateArray().Select(e => new ServiceCheckRef(
                    JsonIn.String(e, "ID") ?? throw ApiException.BadRequest("Request decode failed: ServiceChecks[].ID is required"),
                    JsonIn.String(e, "Namespace") ?? "")).ToImmutableArray(),
            };
        }
        return session;
    }

    private static TimeSpan ParseLockDelay(JsonElement e)
    {
        TimeSpan d;
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                if (!GoDuration.TryParse(e.GetString(), out d)) throw ApiException.BadRequest($"Invalid LockDelay '{e.GetString()}'");
                break;
            case JsonValueKind.Number when e.TryGetDouble(out var n) && n >= 0 && n < 1e19:
                // Consul reads a bare number as nanoseconds, except that small numbers (under 1000) mean seconds.
                d = n < 1000 ? TimeSpan.FromSeconds(n) : TimeSpan.FromTicks((long)(n / 100));
                break;
            default:
                throw ApiException.BadRequest("Request decode failed: LockDelay must be a duration string or a number");
        }
        // Longer than the maximum is accepted and clamped when the delay is applied, as Consul does.
        if (d < TimeSpan.Zero) throw ApiException.BadRequest("Invalid LockDelay: it cannot be negative");
        return d;
    }

    private async Task SessionDestroy(ApiRequest r)
    {
        var id = RequireSessionId(r);
        var (result, _) = await _writer.ApplyAsync(new SessionDestroyCommand(id), CancellationToken.None).ConfigureAwait(false);
        if (result.Error is not null) throw ApiException.BadRequest(result.Error);
        _sessionTimers.Stop(id);
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), true).ConfigureAwait(false);
    }

    private async Task SessionRenew(ApiRequest r)
    {
        var id = RequireSessionId(r);
        var (index, session) = _store.View().SessionGet(id);
        if (session is null) throw new ApiException(404, $"Session id '{id}' not found");
        _sessionTimers.Reset(session.ID, session.TTL);
        SetMeta(r, index, r.QueryOptions());
        await WriteSessionsAsync(r, [session]).ConfigureAwait(false);
    }

    private async Task SessionInfo(ApiRequest r)
    {
        var id = RequireSessionId(r);
        var (_, session) = await BlockingAsync(r, (v, ws) => v.SessionGet(id, ws), x => x.Index).ConfigureAwait(false);
        await WriteSessionsAsync(r, session is null ? [] : [session]).ConfigureAwait(false);
    }

    private async Task SessionNode(ApiRequest r)
    {
        var node = r.Suffix;
        if (node.Length == 0) throw ApiException.BadRequest("Missing node name");
        var (_, sessions) = await BlockingAsync(r, (v, ws) => v.SessionsOfNode(node, ws), x => x.Index).ConfigureAwait(false);
        await WriteSessionsAsync(r, sessions).ConfigureAwait(false);
    }

    private async Task SessionList(ApiRequest r)
    {
        var (_, sessions) = await BlockingAsync(r, (v, ws) => v.SessionList(ws), x => x.Index).ConfigureAwait(false);
        await WriteSessionsAsync(r, sessions).ConfigureAwait(false);
    }

    private Task WriteSessionsAsync(ApiRequest r, IReadOnlyList<Session> sessions) => JsonOut.WriteAsync(r.Http, Pretty(r), w =>
    {
        w.WriteStartArray();
        foreach (var s in sessions) JsonOut.Session(w, s);
        w.WriteEndArray();
    });

    private static string RequireSessionId(ApiRequest r) =>
        r.Suffix.Length == 0 ? throw ApiException.BadRequest("Missing session") : r.Suffix;
}
