using System.Text.Json;

namespace Mesh.Xds.Bootstrap;

/// <summary>
/// The bootstrap-time keys of a proxy's <c>Proxy.Config</c> (and of the <c>proxy-defaults</c> entry's
/// <c>Config</c>), as Consul's <c>BootstrapConfig</c> reads them. Keys that shape xDS at run time
/// (<c>protocol</c>, <c>bind_port</c>, <c>envoy_extra_static_clusters_json</c>...) are read elsewhere, and
/// <c>envoy_extra_static_clusters_json</c> deliberately is not a bootstrap key in Mesh: those clusters are served
/// over CDS so running proxies pick up changes without a restart.
/// </summary>
public sealed record BootstrapSettings
{
    /// <summary>No optional settings: the plain bootstrap.</summary>
    public static BootstrapSettings None { get; } = new();

    /// <summary><c>envoy_prometheus_bind_addr</c>: <c>ip:port</c> of a listener serving <c>/metrics</c> from the admin API.</summary>
    public string? PrometheusBindAddr { get; init; }

    /// <summary><c>envoy_stats_bind_addr</c>: <c>ip:port</c> of a listener serving the admin API's <c>/stats</c> prefix.</summary>
    public string? StatsBindAddr { get; init; }

    /// <summary><c>envoy_stats_flush_interval</c>: a duration (<c>10s</c>, <c>1m30s</c>, <c>1.5s</c>).</summary>
    public string? StatsFlushInterval { get; init; }

    /// <summary><c>envoy_stats_tags</c>: fixed tags added to every metric, <c>name=value</c> or a bare <c>name</c> (value 1).</summary>
    public IReadOnlyList<string> StatsTags { get; init; } = [];

    /// <summary><c>envoy_statsd_url</c>: <c>udp://ip:port</c> or <c>unix:///path</c> of a statsd sink.</summary>
    public string? StatsdUrl { get; init; }

    /// <summary><c>envoy_dogstatsd_url</c>: <c>udp://ip:port</c> or <c>unix:///path</c> of a DogStatsD sink.</summary>
    public string? DogstatsdUrl { get; init; }

    /// <summary><c>envoy_extra_stats_sinks_json</c>: one StatsSink object, or several separated by commas.</summary>
    public string? ExtraStatsSinksJson { get; init; }

    /// <summary><c>envoy_stats_config_json</c>: a whole StatsConfig, replacing the generated tags.</summary>
    public string? StatsConfigJson { get; init; }

    /// <summary><c>envoy_extra_static_listeners_json</c>: one Listener object, or several separated by commas.</summary>
    public string? ExtraStaticListenersJson { get; init; }

    /// <summary><c>envoy_tracing_json</c>: the bootstrap's top-level Tracing object.</summary>
    public string? TracingJson { get; init; }

    /// <summary>
    /// Reads the settings from Config maps, later maps winning key by key: pass the <c>proxy-defaults</c>
    /// entry's <c>Config</c> first and the proxy's own <c>Proxy.Config</c> last, so the proxy overrides the default.
    /// A null or non-object layer counts as empty. A sink URL of the form <c>$NAME</c> is replaced by the variable's
    /// value, as Consul does, through <paramref name="getEnv"/>.
    /// </summary>
    /// <exception cref="BootstrapException">A setting has the wrong type (a number where text is needed...).</exception>
    public static BootstrapSettings FromConfig(Func<string, string?>? getEnv, params JsonElement?[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var merged = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            if (layer is not { ValueKind: JsonValueKind.Object } obj) continue;
            foreach (var p in obj.EnumerateObject())
                if (p.Value.ValueKind != JsonValueKind.Null) merged[p.Name] = p.Value;
        }

        string? Text(string key)
        {
            if (!merged.TryGetValue(key, out var v)) return null;
            return v.ValueKind switch
            {
                JsonValueKind.String => NullIfEmpty(v.GetString()),
                _ => throw new BootstrapException(key, $"expected a string, got {Describe(v.ValueKind)}"),
            };
        }

        // The *_json keys hold JSON text, as in Consul; a JSON object or array written in place (natural in a JSON
        // config file) is taken as that text too.
        string? JsonText(string key)
        {
            if (!merged.TryGetValue(key, out var v)) return null;
            return v.ValueKind switch
            {
                JsonValueKind.String => NullIfEmpty(v.GetString()),
                JsonValueKind.Object or JsonValueKind.Array => v.GetRawText(),
                _ => throw new BootstrapException(key, $"expected JSON text, got {Describe(v.ValueKind)}"),
            };
        }

        string? Url(string key)
        {
            var url = Text(key);
            if (url is { Length: > 1 } && url[0] == '$')
            {
                var name = url[1..];
                url = NullIfEmpty(getEnv?.Invoke(name))
                      ?? throw new BootstrapException(key, $"environment variable {name} is not set");
            }
            return url;
        }

        IReadOnlyList<string> Tags()
        {
            const string key = "envoy_stats_tags";
            if (!merged.TryGetValue(key, out var v)) return [];
            switch (v.ValueKind)
            {
                case JsonValueKind.String:
                    // Consul's weak decoding lifts one string into a one-element list.
                    return NullIfEmpty(v.GetString()) is { } one ? [one] : [];
                case JsonValueKind.Array:
                    var list = new List<string>();
                    foreach (var e in v.EnumerateArray())
                    {
                        if (e.ValueKind != JsonValueKind.String)
                            throw new BootstrapException(key, $"expected a list of strings, found {Describe(e.ValueKind)}");
                        if (NullIfEmpty(e.GetString()) is { } tag) list.Add(tag);
                    }
                    return list;
                default:
                    throw new BootstrapException(key, $"expected a list of strings, got {Describe(v.ValueKind)}");
            }
        }

        return new BootstrapSettings
        {
            StatsdUrl = Url("envoy_statsd_url"),
            DogstatsdUrl = Url("envoy_dogstatsd_url"),
            StatsTags = Tags(),
            PrometheusBindAddr = Text("envoy_prometheus_bind_addr"),
            StatsBindAddr = Text("envoy_stats_bind_addr"),
            ExtraStaticListenersJson = JsonText("envoy_extra_static_listeners_json"),
            ExtraStatsSinksJson = JsonText("envoy_extra_stats_sinks_json"),
            StatsConfigJson = JsonText("envoy_stats_config_json"),
            StatsFlushInterval = Text("envoy_stats_flush_interval"),
            TracingJson = JsonText("envoy_tracing_json"),
        };
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
