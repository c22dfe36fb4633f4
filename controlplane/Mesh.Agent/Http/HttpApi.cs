using System.Diagnostics;
using Mesh.Agent.Config;
using Mesh.Agent.Events;
using Mesh.Agent.Hosting;
using Mesh.Agent.Logging;
using Mesh.Agent.Server;
using Mesh.Agent.Telemetry;
using Mesh.Consensus;
using Mesh.State;
using Mesh.State.Watch;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Http;

/// <summary>
/// The <c>/v1</c> HTTP API: Consul's paths, shapes, status codes and headers. One terminal handler with its own
/// route table keeps the hot path (a KV read) to a dictionary lookup and one JSON write.
/// </summary>
internal sealed partial class HttpApi
{
    /// <summary>Largest KV value accepted (Consul's 512 KiB).</summary>
    public const int MaxKvValueSize = 512 * 1024;

    /// <summary>Largest transaction body accepted (Consul's <c>txn_max_req_len</c>).</summary>
    public const int MaxTxnBodySize = 512 * 1024;

    /// <summary>Most operations in one transaction.</summary>
    public const int MaxTxnOps = 64;

    private const int MaxJsonBodySize = 1024 * 1024;

    private readonly AgentConfig _config;
    private readonly StateStore _store;
    private readonly StateWriter _writer;
    private readonly IReplicatedLog _log;
    private readonly SessionTimers _sessionTimers;
    private readonly EventBuffer _events;
    private readonly Metrics _metrics;
    private readonly AgentLoggerProvider _logs;
    private readonly AgentIdentity _identity;
    private readonly Local.LocalState? _local;
    private readonly Action _leave;
    private readonly ILogger _logger;
    private readonly Dictionary<string, Route> _exact = new(StringComparer.Ordinal);
    private readonly List<Route> _prefixes = [];
    private readonly ResponseCache _responses = new();
    private long _blocking;

    /// <summary>Re-reads the config files and applies the difference (set by the host).</summary>
    public Func<Task> Reload { get; set; } = () => Task.CompletedTask;

    /// <summary>Fires when the agent shuts down: parked event lists answer and monitor streams end at once.</summary>
    public CancellationToken Stopping { get; set; }

    public HttpApi(AgentConfig config, StateStore store, StateWriter writer, SessionTimers sessionTimers, EventBuffer events,
        Metrics metrics, AgentLoggerProvider logs, AgentIdentity identity, Action leave, ILogger<HttpApi> logger, Local.LocalState? local = null)
    {
        _local = local;
        _config = config;
        _store = store;
        _writer = writer;
        _log = writer.Log;
        _sessionTimers = sessionTimers;
        _events = events;
        _metrics = metrics;
        _logs = logs;
        _identity = identity;
        _leave = leave;
        _logger = logger;
        MapRoutes();
        metrics.Gauge("api.blocking_queries", () => Interlocked.Read(ref _blocking));
    }

    private delegate Task Handler(ApiRequest request);

    private sealed record Route(string Path, bool Prefix, string[] Methods, Handler Handler, string MetricPath, string Template)
    {
        // "GET v1.kv", computed once per method so recording a request's duration allocates nothing.
        public Dictionary<string, string> MetricLabels { get; } = Methods.ToDictionary(m => m, m => $"{m} {MetricPath}", StringComparer.Ordinal);

        // "GET /v1/kv/{key}", the span name, likewise computed once.
        public Dictionary<string, string> SpanNames { get; } = Methods.Append("OPTIONS").Distinct().ToDictionary(m => m, m => $"{m} {Template}", StringComparer.Ordinal);
    }

    private void MapRoutes()
    {
        Map("/v1/kv/{key}", ["GET", "PUT", "DELETE"], Kv);
        Map("/v1/txn", ["PUT"], Txn);
        Map("/v1/session/create", ["PUT"], SessionCreate);
        Map("/v1/session/destroy/{uuid}", ["PUT"], SessionDestroy);
        Map("/v1/session/renew/{uuid}", ["PUT"], SessionRenew);
        Map("/v1/session/info/{uuid}", ["GET"], SessionInfo);
        Map("/v1/session/node/{node}", ["GET"], SessionNode);
        Map("/v1/session/list", ["GET"], SessionList);
        Map("/v1/event/fire/{name}", ["PUT"], EventFire);
        Map("/v1/event/list", ["GET"], EventList);
        Map("/v1/status/leader", ["GET"], StatusLeader);
        Map("/v1/status/peers", ["GET"], StatusPeers);
        Map("/v1/agent/self", ["GET"], AgentSelf);
        Map("/v1/agent/members", ["GET"], AgentMembers);
        Map("/v1/agent/metrics", ["GET"], AgentMetrics);
        Map("/v1/agent/leave", ["PUT"], AgentLeave);
        Map("/v1/agent/reload", ["PUT"], AgentReload);
        Map("/v1/agent/monitor", ["GET"], AgentMonitor);
        Map("/v1/agent/services", ["GET"], AgentServices);
        Map("/v1/agent/service/register", ["PUT"], AgentServiceRegister);
        // GET as well on the deregister, pass, warn and fail routes: Consul before 1.0 took it there, and clients
        // still in use (python-consul 0.7) send it.
        Map("/v1/agent/service/deregister/{service_id}", ["PUT", "GET"], AgentServiceDeregister);
        Map("/v1/agent/service/maintenance/{service_id}", ["PUT"], AgentServiceMaintenance);
        Map("/v1/agent/service/{service_id}", ["GET"], AgentService);
        Map("/v1/agent/maintenance", ["PUT"], AgentMaintenance);
        Map("/v1/agent/checks", ["GET"], AgentChecks);
        Map("/v1/agent/check/register", ["PUT"], AgentCheckRegister);
        Map("/v1/agent/check/deregister/{check_id}", ["PUT", "GET"], AgentCheckDeregister);
        Map("/v1/agent/check/pass/{check_id}", ["PUT", "GET"], AgentCheckPass);
        Map("/v1/agent/check/warn/{check_id}", ["PUT", "GET"], AgentCheckWarn);
        Map("/v1/agent/check/fail/{check_id}", ["PUT", "GET"], AgentCheckFail);
        Map("/v1/agent/check/update/{check_id}", ["PUT"], AgentCheckUpdate);
        Map("/v1/agent/health/service/id/{service_id}", ["GET"], AgentHealthById);
        Map("/v1/agent/health/service/name/{service}", ["GET"], AgentHealthByName);
        Map("/v1/catalog/datacenters", ["GET"], CatalogDatacenters);
        Map("/v1/catalog/register", ["PUT"], CatalogRegister);
        Map("/v1/catalog/deregister", ["PUT"], CatalogDeregister);
        Map("/v1/catalog/nodes", ["GET"], CatalogNodes);
        Map("/v1/catalog/services", ["GET"], CatalogServices);
        Map("/v1/catalog/service/{service}", ["GET"], CatalogService);
        Map("/v1/catalog/connect/{service}", ["GET"], CatalogConnect);
        Map("/v1/catalog/node/{node}", ["GET"], CatalogNode);
        Map("/v1/catalog/node-services/{node}", ["GET"], CatalogNodeServices);
        Map("/v1/health/node/{node}", ["GET"], HealthNode);
        Map("/v1/health/checks/{service}", ["GET"], HealthChecks);
        Map("/v1/health/state/{state}", ["GET"], HealthState);
        Map("/v1/health/service/{service}", ["GET"], HealthService);
        Map("/v1/health/connect/{service}", ["GET"], HealthConnect);
        Map("/v1/connect/ca/roots", ["GET"], CaRoots);
        Map("/v1/connect/ca/configuration", ["GET", "PUT"], CaConfiguration);
        Map("/v1/connect/ca/sign", ["POST", "PUT"], CaSign);
        Map("/v1/agent/connect/ca/roots", ["GET"], CaRoots);
        Map("/v1/agent/connect/ca/leaf/{service}", ["GET"], AgentConnectLeaf);
        Map("/v1/agent/connect/authorize", ["POST", "PUT"], AgentConnectAuthorize);
        Map("/v1/discovery-chain/{service}", ["GET", "POST"], DiscoveryChain);
        Map("/v1/connect/intentions", ["GET", "POST"], IntentionsRoot);
        Map("/v1/connect/intentions/exact", ["GET", "PUT", "DELETE"], IntentionsExact);
        Map("/v1/connect/intentions/match", ["GET"], IntentionsMatch);
        Map("/v1/connect/intentions/check", ["GET"], IntentionsCheck);
        // Legacy intentions by ID; exact, match and check above are exact routes, so they are never taken for an ID.
        Map("/v1/connect/intentions/{uuid}", ["GET", "PUT", "DELETE"], IntentionById);
        Map("/v1/config", ["PUT"], ConfigApply);
        Map("/v1/config/{path}", ["GET", "DELETE"], Config);
        Map("/v1/query", ["GET", "POST"], QueryGeneral);
        // Execute and explain (GET only) share this prefix; QuerySpecific refuses other methods on them.
        Map("/v1/query/{path}", ["GET", "PUT", "DELETE"], QuerySpecific);
        // Longest prefix first so "/v1/session/node/" is never shadowed by a shorter route.
        _prefixes.Sort((a, b) => b.Path.Length.CompareTo(a.Path.Length));
    }

    /// <summary>
    /// Adds a route. A template ending in a <c>{parameter}</c> (<c>/v1/kv/{key}</c>) matches every path under the part
    /// before it; the template names the route in spans, so a span's name does not change with each key.
    /// </summary>
    private void Map(string template, string[] methods, Handler handler)
    {
        var brace = template.IndexOf('{', StringComparison.Ordinal);
        var prefix = brace >= 0;
        var path = prefix ? template[..brace] : template;
        var metricPath = path.TrimEnd('/').Replace('/', '.').TrimStart('.');
        var route = new Route(path, prefix, methods, handler, metricPath, template);
        if (prefix) _prefixes.Add(route);
        else _exact[path] = route;
    }

    /// <summary>Handles one request; never lets an exception escape as a 500 unless the server itself failed.</summary>
    public async Task HandleAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        var path = http.Request.Path.Value ?? "/";
        Route? route = null;
        var span = HttpTracing.Start(http);
        try
        {
            var suffix = "";
            if (!_exact.TryGetValue(path, out route))
            {
                foreach (var r in _prefixes)
                {
                    if (!path.StartsWith(r.Path, StringComparison.Ordinal)) continue;
                    route = r;
                    suffix = Suffix(http, r.Path, path);
                    break;
                }
            }
            if (route is null)
            {
                // "/v1/session/list/" and friends: Consul's mux answers a known path with a trailing piece as 404 too.
                await WriteTextAsync(http, 404, "404 page not found").ConfigureAwait(false);
                return;
            }
            http.Response.Headers["X-Consul-Default-ACL-Policy"] = "allow";
            var method = http.Request.Method;
            if (span is not null && route.SpanNames.TryGetValue(method, out var spanName)) HttpTracing.SetRoute(span, spanName, route.Template);
            if (method == "OPTIONS")
            {
                http.Response.Headers.Allow = string.Join(",", route.Methods.Append("OPTIONS"));
                http.Response.StatusCode = 200;
                return;
            }
            if (Array.IndexOf(route.Methods, method) < 0)
            {
                http.Response.Headers.Allow = string.Join(",", route.Methods.Append("OPTIONS"));
                await WriteTextAsync(http, 405, $"method {method} not allowed").ConfigureAwait(false);
                return;
            }
            // Another datacenter is reached through WAN federation, which this agent does not have yet: say so
            // rather than answer from the local datacenter as if it were the one asked for.
            if (http.Request.Query.TryGetValue("dc", out var dc) && dc.Count > 0 && !string.IsNullOrEmpty(dc[0]) && dc[0] != _identity.Datacenter)
            {
                await WriteTextAsync(http, 400, $"No path to datacenter \"{dc[0]}\"").ConfigureAwait(false);
                return;
            }
            await route.Handler(new ApiRequest(http, suffix)).ConfigureAwait(false);
        }
        catch (ApiException ex)
        {
            await TryWriteErrorAsync(http, ex.Status, ex.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await TryWriteErrorAsync(http, ex.StatusCode, ex.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (NoLeaderException ex)
        {
            await TryWriteErrorAsync(http, 500, $"No cluster leader: {ex.Message}").ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogUnhandled(http.Request.Method, path, ex);
            await TryWriteErrorAsync(http, 500, "internal error: " + ex.Message).ConfigureAwait(false);
        }
        finally
        {
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var label = route is not null && route.MetricLabels.TryGetValue(http.Request.Method, out var l) ? l : "other";
            _metrics.Sample("api.http", ms, "path", label);
            if (span is not null) HttpTracing.Stop(span, http);
        }
    }

    /// <summary>
    /// What follows the route's prefix, fully percent-decoded as Go decodes a path: the server leaves <c>%2F</c>
    /// encoded to keep segments apart, so the key is decoded from the raw request target instead, where
    /// <c>a%2Fb</c> is the key <c>a/b</c> and <c>a%252Fb</c> the key <c>a%2Fb</c>.
    /// </summary>
    private static string Suffix(HttpContext http, string prefix, string decodedPath)
    {
        var decoded = decodedPath[prefix.Length..];
        if (!decoded.Contains('%')) return decoded;
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        var q = raw.IndexOf('?');
        if (q >= 0) raw = raw[..q];
        return raw.StartsWith(prefix, StringComparison.Ordinal) ? Uri.UnescapeDataString(raw[prefix.Length..]) : decoded;
    }

    private static async Task TryWriteErrorAsync(HttpContext http, int status, string message)
    {
        if (http.Response.HasStarted) return;
        http.Response.Headers.Remove("X-Consul-Index");
        await WriteTextAsync(http, status, message).ConfigureAwait(false);
    }

    internal static async Task WriteTextAsync(HttpContext http, int status, string text)
    {
        // One line, always: the reason is for a person reading a terminal.
        var line = text.ReplaceLineEndings(" ").Trim() + "\n";
        var bytes = System.Text.Encoding.UTF8.GetBytes(line);
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/plain; charset=utf-8";
        http.Response.ContentLength = bytes.Length;
        try
        {
            await http.Response.Body.WriteAsync(bytes, http.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
    }

    private bool Pretty(ApiRequest r) => _config.PrettyJson || r.Has("pretty");

    /// <summary>
    /// Runs a read as a blocking query (<c>?index</c>, <c>?wait</c>), honouring <c>?consistent</c>, and sets Consul's
    /// query metadata headers on the response.
    /// </summary>
    private async Task<T> BlockingAsync<T>(ApiRequest r, Func<StateView, WatchSet?, T> query, Func<T, ulong> indexOf)
    {
        var opts = r.QueryOptions();
        if (opts.Consistent) await _log.VerifyLeaderAsync(r.Aborted).ConfigureAwait(false);
        T result;
        if (opts.MinIndex == 0) result = query(_store.View(), null);
        else
        {
            Interlocked.Increment(ref _blocking);
            try
            {
                result = await _store.BlockingQueryAsync(opts.MinIndex, opts.WaitWithJitter(), query, indexOf, r.Aborted).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _blocking);
            }
        }
        SetMeta(r, indexOf(result), opts);
        return result;
    }

    private void SetMeta(ApiRequest r, ulong index, QueryOptions opts)
    {
        var headers = r.Http.Response.Headers;
        var leadership = _log.Leadership;
        // Index 0 would make a client's next blocking query return at once; Consul reports 1 instead.
        headers["X-Consul-Index"] = Math.Max(index, 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["X-Consul-KnownLeader"] = leadership.KnownLeader ? "true" : "false";
        headers["X-Consul-LastContact"] = ((long)leadership.LastContact.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        headers["X-Consul-Effective-Consistency"] = opts.Consistency;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "request {Method} {Path} failed")]
    private partial void LogUnhandled(string method, string path, Exception ex);
}
