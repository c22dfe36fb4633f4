using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;

namespace Mesh.Sidecar.Tests.EndToEnd;

/// <summary>
/// A real agent with services behind real <c>mesh connect proxy</c> processes, on loopback: instances of
/// <c>counting</c> (each its own app and sidecar) and <c>dashboard</c>, whose sidecar has <c>counting</c> as an
/// upstream on <see cref="UpstreamPort"/>. Ports come from the OS.
/// </summary>
internal sealed class MeshTopology : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];
    private Func<string, SidecarLaunch>? _launch;

    private MeshTopology(AgentProcess agent)
    {
        Agent = agent;
        Http = new HttpClient { BaseAddress = agent.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The agent.</summary>
    public AgentProcess Agent { get; }

    /// <summary>A client of the agent's HTTP API.</summary>
    public HttpClient Http { get; }

    /// <summary>The counting instances by id (<c>counting-1</c>, ...).</summary>
    public Dictionary<string, (TestApp App, SidecarProcess Sidecar, int PublicPort)> Counting { get; } = [];

    /// <summary>The dashboard's sidecar.</summary>
    public SidecarProcess Dashboard { get; private set; } = null!;

    /// <summary>The dashboard sidecar's public (mTLS) port.</summary>
    public int DashboardPublicPort { get; private set; }

    /// <summary>The local port where the dashboard's sidecar serves its <c>counting</c> upstream.</summary>
    public int UpstreamPort { get; private set; }

    /// <summary>A client for the upstream listener (plain HTTP, as an app calls its upstream).</summary>
    public HttpClient Upstream { get; private set; } = null!;

    /// <summary>
    /// Starts the agent, sets <paramref name="protocol"/> for counting, registers <paramref name="countingInstances"/>
    /// instances (named by their version metadata <c>v1</c>, <c>v2</c>, ...) and the dashboard, and starts every sidecar.
    /// </summary>
    /// <param name="protocol">counting's protocol (service-defaults); <c>tcp</c> writes none.</param>
    /// <param name="countingVersions">One counting instance per entry, with that <c>version</c> metadata.</param>
    /// <param name="appPort">When given, counting-1's sidecar forwards to this port instead of its test app.</param>
    /// <param name="sidecars">More flags and environment for the sidecar of each service instance (by its ID,
    /// <c>counting-1</c> or <c>dashboard</c>); none when null.</param>
    public static async Task<MeshTopology> StartAsync(string protocol = "http", IReadOnlyList<string>? countingVersions = null, int? appPort = null,
        Func<string, SidecarLaunch>? sidecars = null)
    {
        var topology = new MeshTopology(await AgentProcess.StartAsync()) { _launch = sidecars };
        try
        {
            if (protocol != "tcp")
            {
                await topology.PutConfigAsync(new { Kind = "service-defaults", Name = "counting", Protocol = protocol });
            }

            var i = 0;
            foreach (var version in countingVersions ?? ["v1"])
            {
                await topology.AddCountingAsync($"counting-{++i}", version, i == 1 ? appPort : null);
            }

            await topology.AddDashboardAsync();
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    /// <summary>A TCP port that was free a moment ago (registrations need the number before anything binds it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Adds a counting instance with its app, sidecar registration (with a passing TTL check) and sidecar process.</summary>
    public async Task AddCountingAsync(string id, string version, int? appPort = null)
    {
        var app = await TestApp.StartAsync(id);
        _owned.Add(app);
        var port = appPort ?? app.Port;
        var publicPort = FreePort();
        var meta = new Dictionary<string, string> { ["version"] = version };
        await PutAsync("/v1/agent/service/register", new { Name = "counting", ID = id, Port = port, Address = "127.0.0.1", Meta = meta });
        await PutAsync("/v1/agent/service/register", new
        {
            Name = "counting-sidecar-proxy", ID = $"{id}-sidecar-proxy", Kind = "connect-proxy", Port = publicPort, Address = "127.0.0.1", Meta = meta,
            Proxy = new { DestinationServiceName = "counting", DestinationServiceID = id, LocalServiceAddress = "127.0.0.1", LocalServicePort = port },
            Check = new { CheckID = $"{id}-alive", TTL = "10m", Status = "passing" },
        });
        var sidecar = await StartSidecarAsync(id);
        _owned.Add(sidecar);
        Counting[id] = (app, sidecar, publicPort);
    }

    private async Task AddDashboardAsync()
    {
        DashboardPublicPort = FreePort();
        UpstreamPort = FreePort();
        await PutAsync("/v1/agent/service/register", new { Name = "dashboard", ID = "dashboard", Port = FreePort(), Address = "127.0.0.1" });
        await PutAsync("/v1/agent/service/register", new
        {
            Name = "dashboard-sidecar-proxy", ID = "dashboard-sidecar-proxy", Kind = "connect-proxy", Port = DashboardPublicPort, Address = "127.0.0.1",
            Proxy = new
            {
                DestinationServiceName = "dashboard", DestinationServiceID = "dashboard", LocalServiceAddress = "127.0.0.1", LocalServicePort = 1,
                Upstreams = new[] { new { DestinationName = "counting", LocalBindAddress = "127.0.0.1", LocalBindPort = UpstreamPort } },
            },
        });
        Dashboard = await StartSidecarAsync("dashboard");
        _owned.Add(Dashboard);
        Upstream = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{UpstreamPort}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Starts the sidecar of the instance <paramref name="serviceId"/>, with what the test asked for it.</summary>
    private Task<SidecarProcess> StartSidecarAsync(string serviceId)
    {
        var launch = _launch?.Invoke(serviceId) ?? SidecarLaunch.Default;
        return SidecarProcess.StartAsync(Agent, ["-sidecar-for", serviceId, .. launch.Arguments], environment: launch.Environment);
    }

    /// <summary>PUTs JSON to the agent and fails on a non-2xx answer (with its body).</summary>
    public async Task PutAsync(string path, object body)
    {
        using var response = await Http.PutAsJsonAsync(path, body);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Writes a config entry.</summary>
    public Task PutConfigAsync(object entry) => PutAsync("/v1/config", entry);

    /// <summary>Creates or replaces the intention <paramref name="source"/> → <paramref name="destination"/>.</summary>
    public Task IntentionAsync(string source, string destination, string action) =>
        PutAsync($"/v1/connect/intentions/exact?source={source}&destination={destination}", new { SourceType = "consul", Action = action });

    /// <summary>Deletes an intention.</summary>
    public async Task DeleteIntentionAsync(string source, string destination)
    {
        using var response = await Http.DeleteAsync($"/v1/connect/intentions/exact?source={source}&destination={destination}");
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling; fails with <paramref name="what"/> on timeout.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for: {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>One GET through the upstream listener: the status and the serving instance (null when not 200).</summary>
    public async Task<(HttpStatusCode Status, string? Instance, string Body)> GetAsync(string path = "/")
    {
        using var response = await Upstream.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode && path == "/" ? TestApp.NameOf(body) : null, body);
    }

    /// <summary>Output of every process, for failure messages.</summary>
    public string Diagnostics()
    {
        var text = new StringBuilder();
        text.AppendLine("--- agent ---").AppendLine(Agent.Output);
        text.AppendLine("--- dashboard sidecar ---").AppendLine(Dashboard?.Output);
        foreach (var (id, instance) in Counting) text.AppendLine($"--- {id} sidecar ---").AppendLine(instance.Sidecar.Output);
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        Upstream?.Dispose();
        Http.Dispose();
        for (var i = _owned.Count - 1; i >= 0; i--) await _owned[i].DisposeAsync();
        await Agent.DisposeAsync();
    }
}

/// <summary>How one sidecar of a <see cref="MeshTopology"/> is started beyond <c>-sidecar-for</c>.</summary>
/// <param name="Arguments">More flags.</param>
/// <param name="Environment">Variables for its environment.</param>
internal sealed record SidecarLaunch(IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment)
{
    /// <summary>No more flags, no more variables.</summary>
    public static SidecarLaunch Default { get; } = new([], new Dictionary<string, string>());
}
