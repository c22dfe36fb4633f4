using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Mesh.Benchmarks.Infrastructure;

/// <summary>
/// The handful of Consul-compatible calls the scenarios need for setup and for triggering writes. Load itself never
/// goes through here: wrk and the raw watcher client generate it.
/// </summary>
internal sealed class AgentApi : IDisposable
{
    private readonly HttpClient _http;

    public AgentApi(Uri baseAddress)
    {
        // One pooled keep-alive connection is plenty; keeping it warm means a timed PUT never pays for a connect.
        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10), UseProxy = false };
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary><c>PUT /v1/kv/&lt;key&gt;</c> with a raw body; the agent answers <c>true</c>.</summary>
    public async Task PutAsync(string key, string value, CancellationToken cancellation)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(value));
        using var response = await _http.PutAsync($"v1/kv/{key}", content, cancellation);
        var body = await response.Content.ReadAsStringAsync(cancellation);
        if (!response.IsSuccessStatusCode || body.Trim() != "true")
            throw new BenchmarkSetupException($"PUT /v1/kv/{key} answered {(int)response.StatusCode} {body.Trim()}");
    }

    /// <summary>A <c>PUT</c> of a JSON body (catalog or agent registration); fails unless the agent answers 200.</summary>
    public async Task PutJsonAsync(string path, string json, CancellationToken cancellation)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.PutAsync(path.TrimStart('/'), content, cancellation);
        if (!response.IsSuccessStatusCode)
            throw new BenchmarkSetupException($"PUT {path} answered {(int)response.StatusCode} {(await response.Content.ReadAsStringAsync(cancellation)).Trim()}");
    }

    /// <summary>A <c>GET</c> returning the body; fails unless the agent answers 200.</summary>
    public async Task<string> GetStringAsync(string path, CancellationToken cancellation)
    {
        using var response = await _http.GetAsync(path.TrimStart('/'), cancellation);
        var body = await response.Content.ReadAsStringAsync(cancellation);
        if (!response.IsSuccessStatusCode) throw new BenchmarkSetupException($"GET {path} answered {(int)response.StatusCode} {body.Trim()}");
        return body;
    }

    /// <summary><c>GET /v1/kv/&lt;key&gt;</c>; returns the key's <c>X-Consul-Index</c>, failing unless it exists.</summary>
    public async Task<ulong> GetIndexAsync(string key, CancellationToken cancellation)
    {
        using var response = await _http.GetAsync($"v1/kv/{key}", cancellation);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new BenchmarkSetupException($"GET /v1/kv/{key} answered {(int)response.StatusCode}");
        if (!response.Headers.TryGetValues("X-Consul-Index", out var values)
            || !ulong.TryParse(values.First(), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            throw new BenchmarkSetupException($"GET /v1/kv/{key} has no numeric X-Consul-Index header");
        return index;
    }

    /// <summary>
    /// The value of the first gauge in <c>/v1/agent/metrics</c> whose name ends with one of
    /// <paramref name="nameSuffixes"/>, with its full name; null when the endpoint or the gauge does not exist.
    /// </summary>
    public async Task<(string Name, double Value)?> GaugeAsync(IReadOnlyList<string> nameSuffixes, CancellationToken cancellation)
    {
        using var response = await _http.GetAsync("v1/agent/metrics", cancellation);
        if (response.StatusCode != HttpStatusCode.OK) return null;
        try
        {
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellation));
            if (!doc.RootElement.TryGetProperty("Gauges", out var gauges) || gauges.ValueKind != JsonValueKind.Array) return null;
            foreach (var gauge in gauges.EnumerateArray())
            {
                var name = gauge.TryGetProperty("Name", out var n) ? n.GetString() : null;
                if (name is not null && nameSuffixes.Any(suffix => name.EndsWith(suffix, StringComparison.Ordinal))
                    && gauge.TryGetProperty("Value", out var v) && v.TryGetDouble(out var value))
                    return (name, value);
            }
        }
        catch (JsonException) { }
        return null;
    }

    public void Dispose() => _http.Dispose();
}
