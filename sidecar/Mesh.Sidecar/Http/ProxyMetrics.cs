using System.Collections.Concurrent;
using System.Globalization;
using Mesh.Sidecar.Observability;

namespace Mesh.Sidecar.Http;

/// <summary>
/// The per-request metric children the proxy updates on every request, found once per label set: the families'
/// own lookup builds a label array and a joined key per call, which the forwarding path should not pay per request.
/// </summary>
internal sealed class ProxyMetrics(SidecarMetrics metrics)
{
    private static readonly string[] StatusTexts = BuildStatusTexts();

    private readonly ConcurrentDictionary<(string Listener, string Cluster, int Code), Counter> _requests = new();
    private readonly ConcurrentDictionary<string, Histogram> _latency = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Counter> _rbacAllowed = new(StringComparer.Ordinal);

    /// <summary>The families behind the cache, for the rarer counters.</summary>
    public SidecarMetrics Families { get; } = metrics;

    /// <summary>Counts one completed request.</summary>
    public void Request(string listener, string cluster, int code) =>
        _requests.GetOrAdd((listener, cluster, code), static (key, m) => m.Requests.With(key.Listener, key.Cluster, StatusText(key.Code)), Families).Inc();

    /// <summary>Records the time to the upstream's response headers.</summary>
    public void Latency(string cluster, double seconds) =>
        _latency.GetOrAdd(cluster, static (name, m) => m.UpstreamLatency.With(name), Families).Observe(seconds);

    /// <summary>Counts a request RBAC allowed.</summary>
    public void RbacAllowed(string listener) =>
        _rbacAllowed.GetOrAdd(listener, static (name, m) => m.RbacAllowed.With(name), Families).Inc();

    private static string StatusText(int code) =>
        code is >= 0 and < 600 ? StatusTexts[code] : code.ToString(CultureInfo.InvariantCulture);

    private static string[] BuildStatusTexts()
    {
        var texts = new string[600];
        for (var i = 0; i < texts.Length; i++) texts[i] = i.ToString(CultureInfo.InvariantCulture);
        return texts;
    }
}
