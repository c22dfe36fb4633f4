using Mesh.State.Text;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Mesh.Agent.Logging;
using Mesh.State.Tables;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Http;

// /v1/status/*, /v1/agent/self|members|metrics|leave|monitor, /v1/catalog/datacenters.
internal sealed partial class HttpApi
{
    private static readonly string Version = typeof(HttpApi).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private Task StatusLeader(ApiRequest r) =>
        JsonOut.WriteAsync(r.Http, Pretty(r), w => w.WriteStringValue(_log.Leadership.LeaderAddress ?? ""));

    private Task StatusPeers(ApiRequest r) => JsonOut.WriteAsync(r.Http, Pretty(r), w =>
    {
        w.WriteStartArray();
        foreach (var p in _log.Peers) w.WriteStringValue(p);
        w.WriteEndArray();
    });

    private Task CatalogDatacenters(ApiRequest r) => JsonOut.WriteAsync(r.Http, Pretty(r), w =>
    {
        w.WriteStartArray();
        w.WriteStringValue(_identity.Datacenter);
        w.WriteEndArray();
    });

    private Dictionary<string, string> MemberTags() => new()
    {
        ["role"] = "consul",
        ["dc"] = _identity.Datacenter,
        ["id"] = _identity.NodeId,
        ["port"] = _config.Ports.Server.ToString(CultureInfo.InvariantCulture),
        ["bootstrap"] = _config.DevMode || _config.Bootstrap ? "1" : "0",
        ["build"] = Version + ":mesh",
        ["vsn"] = "2",
        ["vsn_min"] = "2",
        ["vsn_max"] = "3",
        ["raft_vsn"] = "3",
        ["segment"] = "",
    };

    private void WriteMember(System.Text.Json.Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("Name", _identity.NodeName);
        w.WriteString("Addr", _identity.AdvertiseAddr);
        w.WriteNumber("Port", _config.Ports.SerfLan);
        JsonOut.StringMap(w, "Tags", MemberTags());
        w.WriteNumber("Status", 1);
        w.WriteNumber("ProtocolMin", 1);
        w.WriteNumber("ProtocolMax", 5);
        w.WriteNumber("ProtocolCur", 2);
        w.WriteNumber("DelegateMin", 2);
        w.WriteNumber("DelegateMax", 5);
        w.WriteNumber("DelegateCur", 4);
        w.WriteEndObject();
    }

    private Task AgentMembers(ApiRequest r) => JsonOut.WriteAsync(r.Http, Pretty(r), w =>
    {
        w.WriteStartArray();
        WriteMember(w);
        w.WriteEndArray();
    });

    private Task AgentSelf(ApiRequest r) => JsonOut.WriteAsync(r.Http, Pretty(r), w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("Config");
        w.WriteString("Datacenter", _identity.Datacenter);
        w.WriteString("PrimaryDatacenter", _identity.Datacenter);
        w.WriteString("NodeName", _identity.NodeName);
        w.WriteString("NodeID", _identity.NodeId);
        w.WriteString("Revision", "mesh");
        w.WriteBoolean("Server", true);
        w.WriteString("Version", Version);
        w.WriteEndObject();
        w.WriteStartObject("DebugConfig");
        w.WriteBoolean("DevMode", _config.DevMode);
        w.WriteString("ClientAddrs", _config.ClientAddr);
        w.WriteString("BindAddr", _config.BindAddr);
        w.WriteString("AdvertiseAddrLAN", _identity.AdvertiseAddr);
        w.WriteNumber("HTTPPort", _config.Ports.Http);
        w.WriteNumber("DNSPort", _config.Ports.Dns);
        // The bound ports, so that `connect envoy` finds an agent started with -grpc-port 0.
        w.WriteNumber("GRPCPort", BoundPort(Uri.UriSchemeHttp, _config.Ports.Grpc));
        w.WriteNumber("GRPCTLSPort", BoundPort(Uri.UriSchemeHttps, _config.Ports.GrpcTls));
        w.WriteNumber("ServerPort", _config.Ports.Server);
        w.WriteString("DataDir", _config.DataDir);
        w.WriteString("DNSDomain", _config.Domain);
        w.WriteString("LogLevel", _config.LogLevel);
        w.WriteString("TombstoneTTL", GoDuration.Format(_config.TombstoneTtl));
        w.WriteEndObject();
        w.WriteNull("Coord");
        w.WritePropertyName("Member");
        WriteMember(w);
        w.WriteStartObject("Stats");
        foreach (var (section, values) in Stats())
            JsonOut.StringMap(w, section, values);
        w.WriteEndObject();
        w.WriteStartObject("Meta");
        w.WriteString("consul-network-segment", "");
        w.WriteEndObject();
        w.WriteEndObject();
    });

    private IEnumerable<(string, Dictionary<string, string>)> Stats()
    {
        var view = _store.View();
        var counts = view.RowCounts();
        static string S(object o) => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "";
        var localChecks = _local?.Checks() ?? new Dictionary<string, HealthCheck>();
        yield return ("agent", new()
        {
            ["check_monitors"] = S(localChecks.Values.Count(c => c.Type is "http" or "tcp" or "udp" or "grpc" or "script")),
            ["check_ttls"] = S(localChecks.Values.Count(c => c.Type == "ttl")),
            ["checks"] = S(localChecks.Count),
            ["services"] = S(_local?.Services().Count ?? 0),
        });
        yield return ("build", new() { ["version"] = Version, ["revision"] = "mesh", ["prerelease"] = "" });
        yield return ("consul", new()
        {
            ["server"] = "true",
            ["leader"] = S(_log.Leadership.IsLeader).ToLowerInvariant(),
            ["leader_addr"] = _log.Leadership.LeaderAddress ?? "",
            ["bootstrap"] = S(_config.DevMode || _config.Bootstrap).ToLowerInvariant(),
            ["known_datacenters"] = "1",
        });
        yield return ("raft", new(_log.Stats));
        yield return ("state", new()
        {
            ["kv_entries"] = S(counts["kvs"]),
            ["tombstones"] = S(counts["tombstones"]),
            ["sessions"] = S(counts["sessions"]),
            ["nodes"] = S(counts["nodes"]),
            ["index"] = S(view.Index),
            ["blocking_queries"] = S(Interlocked.Read(ref _blocking)),
            ["watch_slots"] = S(_store.Watches.Slots),
        });
        yield return ("runtime", new()
        {
            ["arch"] = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
            ["os"] = RuntimeInformation.OSDescription,
            ["version"] = RuntimeInformation.FrameworkDescription,
            ["cpu_count"] = S(Environment.ProcessorCount),
            ["threads"] = S(System.Diagnostics.Process.GetCurrentProcess().Threads.Count),
            ["max_procs"] = S(Environment.ProcessorCount),
        });
    }

    private async Task AgentMetrics(ApiRequest r)
    {
        if (r.Get("format") == "prometheus")
        {
            var text = Encoding.UTF8.GetBytes(_metrics.ToPrometheus());
            r.Http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            r.Http.Response.ContentLength = text.Length;
            await r.Http.Response.Body.WriteAsync(text, r.Aborted).ConfigureAwait(false);
            return;
        }
        await JsonOut.WriteAsync(r.Http, Pretty(r), _metrics.WriteJson).ConfigureAwait(false);
    }

    private async Task AgentLeave(ApiRequest r)
    {
        r.Http.Response.StatusCode = 200;
        r.Http.Response.ContentLength = 0;
        await r.Http.Response.CompleteAsync().ConfigureAwait(false);
        LogLeaving();
        _leave();
    }

    private async Task AgentReload(ApiRequest r)
    {
        try
        {
            await Reload().ConfigureAwait(false);
        }
        catch (Config.ConfigException ex)
        {
            // The request is fine; the files on the server are not: a server-side failure, as Consul reports it.
            throw new ApiException(500, $"Failed reloading config: {ex.Message}");
        }
        r.Http.Response.StatusCode = 200;
    }

    private async Task AgentMonitor(ApiRequest r)
    {
        var levelText = r.Get("loglevel") ?? "info";
        if (!AgentLoggerProvider.TryParseLevel(levelText, out var level)) throw ApiException.BadRequest($"Unknown log level: {levelText}");
        var json = r.Has("logjson");
        var (lines, subscription) = _logs.Subscribe(level);
        // The stream ends when the client goes away or the agent stops, so an open monitor never holds shutdown up.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(r.Aborted, Stopping);
        using (subscription)
        {
            r.Http.Response.StatusCode = 200;
            r.Http.Response.ContentType = "text/plain; charset=utf-8";
            // Send the headers now so a client sees the stream open before the first line arrives.
            await r.Http.Response.StartAsync(r.Aborted).ConfigureAwait(false);
            await r.Http.Response.Body.FlushAsync(r.Aborted).ConfigureAwait(false);
            try
            {
                await foreach (var line in lines.ReadAllAsync(ended.Token).ConfigureAwait(false))
                {
                    var bytes = Encoding.UTF8.GetBytes((json ? line.ToJson() : line.ToText()) + "\n");
                    await r.Http.Response.Body.WriteAsync(bytes, ended.Token).ConfigureAwait(false);
                    await r.Http.Response.Body.FlushAsync(ended.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // The client closed the stream, or the agent is stopping.
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "graceful leave requested over the HTTP API")]
    private partial void LogLeaving();
}
