using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// The measured pair: two Mesh sidecar processes configured by the agent over xDS. <c>api</c> (the app) and
/// <c>web</c> (with an upstream <c>api</c> on a local port) are registered with <c>connect.sidecar_service</c>;
/// <c>api</c> is declared an HTTP service so both sidecars proxy at L7 like HAProxy's HTTP mode, and an intention
/// allows web to api (an earlier scenario on the same agent may have written a catch-all deny). Then
/// <c>mesh connect proxy -sidecar-for api</c> and <c>-sidecar-for web</c> run as processes of their own.
/// </summary>
internal sealed class MeshPair : IProxyPair
{
    private readonly AgentApi _api;
    private readonly string _apiService;
    private readonly string _webService;

    private MeshPair(AgentApi api, string apiService, string webService, string name, int entryPort, ChildProcess outbound, ChildProcess inbound)
    {
        _api = api;
        _apiService = apiService;
        _webService = webService;
        Name = name;
        EntryPort = entryPort;
        Outbound = outbound;
        Inbound = inbound;
    }

    public string Name { get; }

    public int EntryPort { get; }

    public ChildProcess Outbound { get; }

    public ChildProcess Inbound { get; }

    /// <summary>
    /// Registers the pair's services and starts both sidecars; returns once a request passes through both. The traced
    /// pair's services are <c>traced-api</c> and <c>traced-web</c>, so it can run beside the untraced one on one agent.
    /// </summary>
    /// <param name="agent">The benchmark's agent.</param>
    /// <param name="api">Its HTTP API.</param>
    /// <param name="directory">The sidecars' working directory.</param>
    /// <param name="appPort">The app (nginx) behind the api sidecar.</param>
    /// <param name="logLevel">The sidecars' <c>-log-level</c>.</param>
    /// <param name="spanSink">When set, both sidecars trace every request (sampling ratio 1) and export there: the web
    /// sidecar as Zipkin JSON, the api sidecar as OTLP/HTTP, so both exporters are on the measured path.</param>
    /// <param name="cancellation">Stops the wait.</param>
    public static async Task<MeshPair> StartAsync(AgentProcess agent, AgentApi api, string directory, int appPort, string logLevel,
        Uri? spanSink, CancellationToken cancellation)
    {
        Directory.CreateDirectory(directory);
        var prefix = spanSink is null ? "" : "traced-";
        var apiService = prefix + "api";
        var webService = prefix + "web";
        var meshDll = Path.Combine(AppContext.BaseDirectory, "mesh.dll");
        if (!File.Exists(meshDll)) throw new BenchmarkSetupException($"{meshDll} not found; build with `dotnet build -c Release tests/Mesh.Benchmarks`.");

        var apiSidecarPort = ChildProcess.FreePort();
        var webSidecarPort = ChildProcess.FreePort();
        var upstreamPort = ChildProcess.FreePort();
        var webPort = ChildProcess.FreePort(); // web itself never runs: only its sidecar's upstream listener is used

        await api.PutJsonAsync("/v1/config", JsonSerializer.Serialize(new { Kind = "service-defaults", Name = apiService, Protocol = "http" }), cancellation);
        await api.PutJsonAsync("/v1/config", JsonSerializer.Serialize(new
        {
            Kind = "service-intentions", Name = apiService, Sources = new[] { new { Name = webService, Action = "allow" } },
        }), cancellation);
        await api.PutJsonAsync("/v1/agent/service/register", JsonSerializer.Serialize(new
        {
            Name = apiService, ID = apiService, Port = appPort,
            Connect = new { SidecarService = new { Port = apiSidecarPort } },
        }), cancellation);
        await api.PutJsonAsync("/v1/agent/service/register", JsonSerializer.Serialize(new
        {
            Name = webService, ID = webService, Port = webPort,
            Connect = new
            {
                SidecarService = new
                {
                    Port = webSidecarPort,
                    Proxy = new { Upstreams = new[] { new { DestinationName = apiService, LocalBindAddress = "127.0.0.1", LocalBindPort = upstreamPort } } },
                },
            },
        }), cancellation);

        var httpAddr = $"{agent.HttpEndPoint.Address}:{agent.HttpEndPoint.Port.ToString(CultureInfo.InvariantCulture)}";
        ChildProcess? inbound = null, outbound = null;
        try
        {
            string[] inboundTracing = spanSink is null ? [] :
                ["-tracing-exporter", "otlp", "-tracing-otlp-endpoint", spanSink.ToString(), "-tracing-otlp-protocol", "http/protobuf", "-tracing-sample-ratio", "1"];
            string[] outboundTracing = spanSink is null ? [] :
                ["-tracing-exporter", "zipkin", "-tracing-zipkin-endpoint", spanSink.ToString(), "-tracing-sample-ratio", "1"];
            inbound = StartSidecar(meshDll, apiService, httpAddr, logLevel, directory, inboundTracing);
            outbound = StartSidecar(meshDll, webService, httpAddr, logLevel, directory, outboundTracing);
            await WaitUntilServingAsync(upstreamPort, [inbound, outbound], TimeSpan.FromSeconds(120), cancellation);
            return new MeshPair(api, apiService, webService, spanSink is null ? "mesh" : "traced", upstreamPort, outbound, inbound);
        }
        catch
        {
            if (outbound is not null) await outbound.DisposeAsync();
            if (inbound is not null) await inbound.DisposeAsync();
            await DeregisterAsync(api, apiService, webService);
            throw;
        }
    }

    /// <summary>Stops both sidecars and removes what the pair registered, leaving the shared agent as it found it.</summary>
    public async ValueTask DisposeAsync()
    {
        await Outbound.DisposeAsync();
        await Inbound.DisposeAsync();
        await DeregisterAsync(_api, _apiService, _webService);
    }

    private static ChildProcess StartSidecar(string meshDll, string service, string httpAddr, string logLevel, string directory, string[] tracing) =>
        ChildProcess.Start($"mesh sidecar for {service}{(tracing.Length > 0 ? " (traced)" : "")}", AgentProcess.DotnetHost(),
            [meshDll, "connect", "proxy", "-sidecar-for", service, "-http-addr", httpAddr, "-admin-bind", "127.0.0.1:0", "-log-level", logLevel, .. tracing],
            directory,
            // The untraced pair stays untraced whatever OTEL_* variables this benchmark was started with.
            tracing.Length > 0 ? null : new Dictionary<string, string> { ["OTEL_SDK_DISABLED"] = "true" });

    /// <summary>
    /// Polls the upstream's local port until a request through both sidecars returns 200: that needs the listeners,
    /// clusters, endpoints (the api sidecar's health checks passing), routes and certificates all applied. A sidecar
    /// that exits ends the wait at once with its output.
    /// </summary>
    private static async Task WaitUntilServingAsync(int upstreamPort, ChildProcess[] sidecars, TimeSpan timeout, CancellationToken cancellation)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
        {
            Timeout = TimeSpan.FromSeconds(5),
        };
        var url = new Uri($"http://127.0.0.1:{Port(upstreamPort)}/");
        var clock = Stopwatch.StartNew();
        var last = "no answer yet";
        while (true)
        {
            foreach (var sidecar in sidecars)
                if (sidecar.HasExited) throw new BenchmarkSetupException($"the {sidecar.Label} exited: {sidecar.Describe()}");
            if (clock.Elapsed > timeout)
                throw new BenchmarkSetupException($"no 200 through the Mesh sidecars on {url} within {timeout.TotalSeconds:0} s (last: {last}); " +
                    string.Join("; ", sidecars.Select(s => s.Describe())));
            try
            {
                using var response = await client.GetAsync(url, cancellation);
                if (response.StatusCode == HttpStatusCode.OK) return;
                last = $"{(int)response.StatusCode} {(await response.Content.ReadAsStringAsync(cancellation)).Trim()}";
            }
            catch (HttpRequestException e) { last = e.Message; }
            catch (TaskCanceledException) when (!cancellation.IsCancellationRequested) { last = "timed out"; }
            // Configuration arrives in steps (and the sidecar's check runs on its interval); poll, but not in a
            // tight loop that would take CPU from the sidecars starting up.
            await Task.Delay(100, cancellation);
        }
    }

    private static async Task DeregisterAsync(AgentApi api, string apiService, string webService)
    {
        // Best effort, and not cancellable: it runs on the way out, also after Ctrl-C.
        foreach (var path in new[] { $"/v1/agent/service/deregister/{webService}", $"/v1/agent/service/deregister/{apiService}" })
        {
            try { await api.PutJsonAsync(path, "", CancellationToken.None); }
            catch (Exception e) when (e is BenchmarkSetupException or HttpRequestException or TaskCanceledException) { }
        }
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
}
