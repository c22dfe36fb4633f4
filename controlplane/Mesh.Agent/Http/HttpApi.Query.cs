using System.Globalization;
using System.Net;
using System.Text.Json;
using Mesh.Agent.Queries;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Tables;

namespace Mesh.Agent.Http;

// /v1/query: prepared queries. Create and list on /v1/query; read, update and delete on /v1/query/<id>; execute and
// explain on /v1/query/<id or name>/execute|explain. Consul answers several of these failures with a 500 (its RPC
// layer loses the error's kind); here a bad definition is a 400 and an unknown query a 404, as for every other route.
internal sealed partial class HttpApi
{
    private const string QueryNotFound = "Query not found";
    private const string ExecuteSuffix = "/execute";
    private const string ExplainSuffix = "/explain";

    private readonly PreparedQueryExecutor _queryExecutor = new(Random.Shared);

    private Task QueryGeneral(ApiRequest r) => r.Method == "POST" ? QueryCreate(r) : QueryList(r);

    private Task QuerySpecific(ApiRequest r)
    {
        // As Consul routes it: the path's last segment picks the operation, the rest is the ID or name.
        var path = "/v1/query/" + r.Suffix;
        if (path.EndsWith(ExecuteSuffix, StringComparison.Ordinal)) return QueryExecute(r, TrimOperation(r.Suffix, ExecuteSuffix));
        if (path.EndsWith(ExplainSuffix, StringComparison.Ordinal)) return QueryExplain(r, TrimOperation(r.Suffix, ExplainSuffix));
        return r.Method switch
        {
            "PUT" => QueryUpdate(r),
            "DELETE" => QueryDelete(r),
            _ => QueryGet(r),
        };
    }

    private static string TrimOperation(string suffix, string operation) =>
        suffix.EndsWith(operation, StringComparison.Ordinal) ? suffix[..^operation.Length] : suffix;

    private async Task QueryCreate(ApiRequest r)
    {
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        // Unlike an update, a create needs a definition (Consul's decoder fails on the empty body with EOF).
        if (body.Length == 0) throw ApiException.BadRequest("Request decode failed: EOF (the body is empty)");
        var query = QueryBody.Parse(body, Guid.NewGuid().ToString(), creating: true);
        if (QueryBody.Validate(query) is { } problem) throw ApiException.BadRequest("Invalid prepared query: " + problem);
        var (result, _) = await _writer.ApplyAsync(new PreparedQueryCreateCommand(query), CancellationToken.None).ConfigureAwait(false);
        if (result.Error is not null) throw ApiException.BadRequest(result.Error);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WriteString("ID", query.ID);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task QueryList(ApiRequest r)
    {
        var (_, queries) = await BlockingAsync(r, (v, ws) => v.PreparedQueryList(ws), x => x.Index).ConfigureAwait(false);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartArray();
            foreach (var q in queries) QueryJson.Query(w, q);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private async Task QueryGet(ApiRequest r)
    {
        var id = RequireQueryId(r);
        var (_, query) = await BlockingAsync(r, (v, ws) => v.PreparedQueryGet(id, ws), x => x.Index).ConfigureAwait(false);
        if (query is null)
        {
            // Written directly so the index headers stay: python-consul reads X-Consul-Index from a 404 too.
            await WriteTextAsync(r.Http, 404, QueryNotFound).ConfigureAwait(false);
            return;
        }
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartArray();
            QueryJson.Query(w, query);
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private async Task QueryUpdate(ApiRequest r)
    {
        var existing = ExistingQuery(r);
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        // The ID comes from the path, whatever the body says.
        var query = QueryBody.Parse(body, existing.ID, creating: false);
        if (QueryBody.Validate(query) is { } problem) throw ApiException.BadRequest("Invalid prepared query: " + problem);
        await ApplyQueryChangeAsync(new PreparedQueryUpdateCommand(query), existing.ID).ConfigureAwait(false);
        r.Http.Response.StatusCode = 200;
        r.Http.Response.ContentLength = 0;
    }

    private async Task QueryDelete(ApiRequest r)
    {
        var existing = ExistingQuery(r);
        await ApplyQueryChangeAsync(new PreparedQueryDeleteCommand(existing.ID), existing.ID).ConfigureAwait(false);
        r.Http.Response.StatusCode = 200;
        r.Http.Response.ContentLength = 0;
    }

    private PreparedQuery ExistingQuery(ApiRequest r)
    {
        var id = RequireQueryId(r);
        return _store.View().PreparedQueryGet(id).Query ?? throw new ApiException(404, WriteTxn.QueryNotFoundMessage(id));
    }

    private async Task ApplyQueryChangeAsync(Command command, string id)
    {
        var (result, _) = await _writer.ApplyAsync(command, CancellationToken.None).ConfigureAwait(false);
        if (result.Error is null) return;
        // The query can go between the check above and the write (deleted, or its session ended).
        throw new ApiException(result.Error == WriteTxn.QueryNotFoundMessage(id) ? 404 : 400, result.Error);
    }

    private async Task QueryExecute(ApiRequest r, string idOrName)
    {
        RequireGetForOperation(r);
        var limit = QueryLimit(r);
        var connect = QueryConnect(r);
        var opts = r.QueryOptions();
        if (opts.Consistent) await _log.VerifyLeaderAsync(r.Aborted).ConfigureAwait(false);
        var view = _store.View();
        PreparedQueryResult? result;
        try
        {
            result = _queryExecutor.Execute(view, idOrName, _identity.NodeName, limit, r.Get("near"), connect, SourceAddress(r));
        }
        catch (PreparedQueryException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
        if (result is null)
        {
            SetMeta(r, view.TableIndex(TableNames.PreparedQueries), opts);
            await WriteTextAsync(r.Http, 404, QueryNotFound).ConfigureAwait(false);
            return;
        }
        SetMeta(r, result.Index, opts);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WriteString("Service", result.Query.Service.Service);
            w.WriteStartArray("Nodes");
            foreach (var e in result.Nodes) CatalogJson.ServiceHealth(w, e);
            w.WriteEndArray();
            w.WriteStartObject("DNS");
            w.WriteString("TTL", result.Query.DNS.TTL);
            w.WriteEndObject();
            // One datacenter: failover to others is stored with the query but never needed or possible.
            w.WriteString("Datacenter", _identity.Datacenter);
            w.WriteNumber("Failovers", 0);
            WriteQueryMeta(w, result.Index, opts);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task QueryExplain(ApiRequest r, string idOrName)
    {
        RequireGetForOperation(r);
        var opts = r.QueryOptions();
        if (opts.Consistent) await _log.VerifyLeaderAsync(r.Aborted).ConfigureAwait(false);
        ulong index;
        PreparedQuery? query;
        try
        {
            (index, query) = _store.View().PreparedQueryResolve(idOrName);
        }
        catch (PreparedQueryException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
        SetMeta(r, index, opts);
        if (query is null)
        {
            await WriteTextAsync(r.Http, 404, QueryNotFound).ConfigureAwait(false);
            return;
        }
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("Query");
            QueryJson.Query(w, query);
            WriteQueryMeta(w, index, opts);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>Consul's execute and explain answers embed its query metadata in the body as well as the headers.</summary>
    private void WriteQueryMeta(Utf8JsonWriter w, ulong index, QueryOptions opts)
    {
        var leadership = _log.Leadership;
        w.WriteNumber("Index", index);
        w.WriteNumber("LastContact", leadership.LastContact.Ticks * 100);
        w.WriteBoolean("KnownLeader", leadership.KnownLeader);
        w.WriteString("ConsistencyLevel", opts.Consistency);
        w.WriteBoolean("NotModified", false);
        w.WriteNumber("Backend", 0);
        w.WriteBoolean("ResultsFilteredByACLs", false);
    }

    private static void RequireGetForOperation(ApiRequest r)
    {
        if (r.Method == "GET") return;
        r.Http.Response.Headers.Allow = "GET,OPTIONS";
        throw new ApiException(405, $"method {r.Method} not allowed");
    }

    private static string RequireQueryId(ApiRequest r) =>
        r.Suffix.Length == 0 ? throw ApiException.BadRequest("Missing query ID") : r.Suffix;

    /// <summary><c>?limit=</c> as Go's <c>strconv.Atoi</c> reads it; 0 or less means no limit.</summary>
    private static int QueryLimit(ApiRequest r)
    {
        var text = r.Get("limit");
        if (text is null) return 0;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var limit))
        {
            var digits = text.Length > 0 && text[0] is '+' or '-' ? text[1..] : text;
            var why = digits.Length > 0 && digits.All(char.IsAsciiDigit) ? "value out of range" : "invalid syntax";
            throw ApiException.BadRequest($"Bad limit: strconv.Atoi: parsing \"{text}\": {why}");
        }
        return (int)Math.Clamp(limit, int.MinValue, int.MaxValue);
    }

    /// <summary><c>?connect=</c> as Go's <c>strconv.ParseBool</c> reads it.</summary>
    private static bool QueryConnect(ApiRequest r) => r.Get("connect") switch
    {
        null => false,
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        var other => throw ApiException.BadRequest($"Error parsing 'connect' value: strconv.ParseBool: parsing \"{other}\": invalid syntax"),
    };

    /// <summary>The caller's address for <c>near=_ip</c>: the first <c>X-Forwarded-For</c> entry if it is an IP, else the peer's.</summary>
    private static string? SourceAddress(ApiRequest r)
    {
        var forwarded = r.Http.Request.Headers["X-Forwarded-For"].ToString();
        if (forwarded.Length > 0 && IPAddress.TryParse(forwarded.Split(',')[0].Trim(), out var ip)) return Plain(ip);
        return r.Http.Connection.RemoteIpAddress is { } remote ? Plain(remote) : null;

        static string Plain(IPAddress a) => (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).ToString();
    }
}
