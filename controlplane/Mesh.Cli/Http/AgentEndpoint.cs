using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Mesh.Cli.Http;

/// <summary><c>/v1/agent</c> and <c>/v1/status</c> calls the CLI makes.</summary>
internal sealed class AgentEndpoint(ApiClient client)
{
    /// <summary><c>GET /v1/agent/self</c>: the agent's configuration and stats, as a JSON document.</summary>
    public async Task<JsonDocument> SelfAsync(CancellationToken ct)
    {
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/agent/self", null, null, null, ct).ConfigureAwait(false));
        try
        {
            return JsonDocument.Parse(result.Body);
        }
        catch (JsonException e)
        {
            throw ApiException.FromDecode($"Failed to decode response: {e.Message}", e);
        }
    }

    /// <summary>
    /// The agent's node name, from <c>/v1/agent/self</c>. Commands call this first, as Consul's do, so a
    /// wrong address fails before anything is written.
    /// </summary>
    public async Task<string> NodeNameAsync(CancellationToken ct)
    {
        using var self = await SelfAsync(ct).ConfigureAwait(false);
        return self.RootElement.TryGetProperty("Config", out var config)
               && config.TryGetProperty("NodeName", out var name) && name.ValueKind == JsonValueKind.String
            ? name.GetString()!
            : "";
    }

    /// <summary><c>GET /v1/agent/members</c> with Consul's member options.</summary>
    public async Task<List<AgentMember>> MembersAsync(bool wan, string segment, string filter, CancellationToken ct)
    {
        List<KeyValuePair<string, string?>> parameters = [];
        if (wan) parameters.Add(new("wan", "1"));
        if (segment.Length > 0) parameters.Add(new("segment", segment));
        if (filter.Length > 0) parameters.Add(new("filter", filter));
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/agent/members", parameters, null, null, ct).ConfigureAwait(false));
        return KvEndpoint.Decode(result, ApiJson.Compact.ListAgentMember) ?? [];
    }

    /// <summary><c>PUT /v1/agent/leave</c>: the agent leaves the cluster and shuts down.</summary>
    public async Task LeaveAsync(CancellationToken ct) =>
        ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/agent/leave", null, null, null, ct).ConfigureAwait(false));

    /// <summary><c>PUT /v1/agent/reload</c>.</summary>
    public async Task ReloadAsync(CancellationToken ct) =>
        ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/agent/reload", null, null, null, ct).ConfigureAwait(false));

    /// <summary><c>PUT /v1/agent/service/register</c> with a JSON service definition (PascalCase keys).</summary>
    public async Task ServiceRegisterAsync(byte[] definition, CancellationToken ct) =>
        ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/agent/service/register", null, null, definition, ct).ConfigureAwait(false));

    /// <summary><c>PUT /v1/agent/service/deregister/&lt;id&gt;</c>.</summary>
    public async Task ServiceDeregisterAsync(string serviceId, CancellationToken ct) =>
        ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/agent/service/deregister/" + Uri.EscapeDataString(serviceId),
            null, null, null, ct).ConfigureAwait(false));

    /// <summary>
    /// <c>PUT /v1/agent/maintenance</c> (node) or <c>/v1/agent/service/maintenance/&lt;id&gt;</c> (service). As in
    /// Consul's client, enabling always sends <c>reason</c> (possibly empty) and disabling never does.
    /// </summary>
    public async Task MaintenanceAsync(string? serviceId, bool enable, string reason, CancellationToken ct)
    {
        List<KeyValuePair<string, string?>> parameters = [new("enable", enable ? "true" : "false")];
        if (enable) parameters.Add(new("reason", reason));
        var path = serviceId is null ? "/v1/agent/maintenance" : "/v1/agent/service/maintenance/" + Uri.EscapeDataString(serviceId);
        ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, path, parameters, null, null, ct).ConfigureAwait(false));
    }

    /// <summary><c>GET /v1/agent/checks</c>: the agent's local checks keyed by check ID.</summary>
    public async Task<Dictionary<string, AgentCheck?>> ChecksAsync(CancellationToken ct)
    {
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/agent/checks", null, null, null, ct).ConfigureAwait(false));
        return KvEndpoint.Decode(result, ApiJson.Compact.DictionaryStringAgentCheck) ?? [];
    }

    /// <summary><c>GET /v1/status/leader</c>: the leader's address ("" when there is none).</summary>
    public async Task<string> LeaderAsync(CancellationToken ct)
    {
        var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/status/leader", null, null, null, ct).ConfigureAwait(false));
        return KvEndpoint.Decode(result, ApiJson.Compact.String) ?? "";
    }

    /// <summary>
    /// Opens <c>GET /v1/agent/monitor</c>; the returned stream yields log lines until the agent ends the response
    /// or <paramref name="ct"/> fires. Opening fails with <see cref="ApiException"/> before the first line.
    /// </summary>
    public async Task<IAsyncEnumerable<string>> MonitorAsync(string logLevel, bool logJson, CancellationToken ct)
    {
        List<KeyValuePair<string, string?>> parameters = [new("loglevel", logLevel)];
        if (logJson) parameters.Add(new("logjson", "true"));
        var response = await client.SendStreamingAsync(HttpMethod.Get, "/v1/agent/monitor", parameters, ct).ConfigureAwait(false);
        if ((int)response.StatusCode != 200)
        {
            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                throw ApiException.FromStatus((int)response.StatusCode, body.TrimEnd('\n'));
            }
        }
        return ReadLines(response, ct);
    }

    private static async IAsyncEnumerable<string> ReadLines(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken ct)
    {
        using (response)
        {
            var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (true)
            {
                string? line;
                try
                {
                    line = await reader.ReadLineAsync(ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
                {
                    // The agent went away mid-stream; to the user that is the same as the stream ending.
                    yield break;
                }
                if (line is null) yield break;
                yield return line;
            }
        }
    }
}
