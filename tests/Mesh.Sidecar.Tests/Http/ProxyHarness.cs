using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Http;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Upstreams;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Tests.Http;

/// <summary>A Kestrel app on a loopback port chosen by the system.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestServer(WebApplication app, IPEndPoint[] endPoints)
    {
        _app = app;
        EndPoints = endPoints;
    }

    /// <summary>Where the server listens (the first listening address).</summary>
    public IPEndPoint EndPoint => EndPoints[0];

    /// <summary>Every listening address, in the order of the protocols asked for.</summary>
    public IPEndPoint[] EndPoints { get; }

    /// <summary>The server's base address.</summary>
    public Uri BaseAddress => new($"http://{EndPoint}/");

    public static async Task<TestServer> StartAsync(RequestDelegate handler, HttpProtocols protocols = HttpProtocols.Http1, bool webSockets = false,
        ILoggerProvider? logs = null, HttpProtocols? secondProtocols = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = protocols);
            if (secondProtocols is { } second) k.Listen(IPAddress.Loopback, 0, o => o.Protocols = second);
        });
        var app = builder.Build();
        if (webSockets) app.UseWebSockets();
        app.Run(handler);
        await app.StartAsync();
        var endPoints = app.Urls.Select(u => new IPEndPoint(IPAddress.Loopback, new Uri(u).Port)).ToArray();
        return new TestServer(app, endPoints);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// A cluster manager for tests: static endpoints per cluster, round robin that honours <see cref="LbContext.Exclude"/>,
/// plain TCP connects. Records reported outcomes.
/// </summary>
internal sealed class TestClusters : IClusterManager
{
    private readonly ConcurrentDictionary<string, (ClusterConfig Config, IPEndPoint[] Endpoints)> _clusters = new();
    private int _next = -1;

    public ConcurrentQueue<(IPEndPoint Endpoint, bool Success)> Reports { get; } = new();

    public int Connects;

    public void Set(ClusterConfig config, params IPEndPoint[] endpoints) => _clusters[config.Name] = (config, endpoints);

    public ClusterConfig? Find(string cluster) => _clusters.TryGetValue(cluster, out var c) ? c.Config : null;

    public IEndpointLease? Pick(string cluster, in LbContext context)
    {
        if (!_clusters.TryGetValue(cluster, out var c) || c.Endpoints.Length == 0) return null;
        var candidates = c.Endpoints;
        if (context.Exclude is { } exclude && candidates.Length > 1) candidates = [.. candidates.Where(e => !e.Equals(exclude))];
        var index = (int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Length);
        return new Lease(this, c.Config, new EndpointConfig(candidates[index], EndpointHealth.Healthy, 1, 0));
    }

    public async ValueTask<UpstreamConnection> ConnectAsync(IEndpointLease lease, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Connects);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(lease.Endpoint.Address, cancellationToken);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new UpstreamConnectException($"connect to {lease.Endpoint.Address} failed: {ex.SocketErrorCode}", ex);
        }

        return new UpstreamConnection(new NetworkStream(socket, ownsSocket: true), null);
    }

    private sealed class Lease(TestClusters owner, ClusterConfig cluster, EndpointConfig endpoint) : IEndpointLease
    {
        public ClusterConfig Cluster => cluster;
        public EndpointConfig Endpoint => endpoint;
        public void Report(bool success) => owner.Reports.Enqueue((endpoint.Address, success));
        public void Dispose() { }
    }
}

/// <summary>Collects log lines, with their structured state.</summary>
internal sealed class CapturingLogs : ILoggerProvider
{
    public ConcurrentQueue<(string Category, string Message, IReadOnlyList<KeyValuePair<string, object?>> State)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturingLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            owner.Entries.Enqueue((category, formatter(state, exception), values));
        }
    }
}

/// <summary>The proxy hosted in Kestrel (HTTP/1.1 and h2c) for one listener named <see cref="Listener"/>.</summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    public const string Listener = "outbound:test";

    private readonly TestServer _server;

    private ProxyHarness(TestServer server, StateHolder state, TestClusters clusters, SidecarMetrics metrics, HttpProxy proxy, CapturingLogs logs)
    {
        _server = server;
        State = state;
        Clusters = clusters;
        Metrics = metrics;
        Proxy = proxy;
        Logs = logs;
    }

    public StateHolder State { get; }
    public TestClusters Clusters { get; }
    public SidecarMetrics Metrics { get; }
    public HttpProxy Proxy { get; }
    public CapturingLogs Logs { get; }
    public Uri BaseAddress => _server.BaseAddress;
    public IPEndPoint EndPoint => _server.EndPoint;

    public static Task<ProxyHarness> StartAsync(HttpConnectionManagerConfig hcm, params ClusterConfig[] clusters) => StartCoreAsync(hcm, null, clusters);

    /// <summary>A proxy whose listeners without xDS tracing trace as <paramref name="defaultTracing"/> says (a process that exports spans).</summary>
    public static Task<ProxyHarness> StartAsync(HttpConnectionManagerConfig hcm, TracingConfig defaultTracing, params ClusterConfig[] clusters) =>
        StartCoreAsync(hcm, defaultTracing, clusters);

    private static async Task<ProxyHarness> StartCoreAsync(HttpConnectionManagerConfig hcm, TracingConfig? defaultTracing, ClusterConfig[] clusters)
    {
        var state = new StateHolder();
        var testClusters = new TestClusters();
        var metrics = new SidecarMetrics();
        var logs = new CapturingLogs();
        var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var proxy = new HttpProxy(state, testClusters, metrics, factory, defaultTracing);
        state.Publish(Build.State(hcm, clusters));
        // Kestrel answers an h2c preface on a mixed cleartext endpoint with HTTP_1_1_REQUIRED, so h2c gets its own port.
        var server = await TestServer.StartAsync(ctx => proxy.HandleAsync(ctx, Listener), HttpProtocols.Http1, secondProtocols: HttpProtocols.Http2);
        return new ProxyHarness(server, state, testClusters, metrics, proxy, logs);
    }

    /// <summary>Publishes a new state with this connection manager and clusters.</summary>
    public void Publish(HttpConnectionManagerConfig hcm, params ClusterConfig[] clusters) => State.Publish(Build.State(hcm, clusters));

    /// <summary>A client for HTTP/1.1, or HTTP/2 with prior knowledge (h2c).</summary>
    public HttpClient Client(bool http2 = false) => new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
    {
        BaseAddress = http2 ? new Uri($"http://{_server.EndPoints[1]}/") : BaseAddress,
        DefaultRequestVersion = http2 ? HttpVersion.Version20 : HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Proxy.Dispose();
    }
}

/// <summary>Builders for the translated configuration.</summary>
internal static class Build
{
    public static SidecarState State(HttpConnectionManagerConfig hcm, params ClusterConfig[] clusters) =>
        SidecarState.Empty with
        {
            Listeners = new Dictionary<string, ListenerConfig>
            {
                [ProxyHarness.Listener] = new(ProxyHarness.Listener, new IPEndPoint(IPAddress.Loopback, 0), TrafficDirection.Outbound, null, null, hcm),
            }.ToFrozenDictionary(),
            Clusters = clusters.ToFrozenDictionary(c => c.Name),
        };

    public static HttpConnectionManagerConfig Hcm(RouteTableConfig routes, RbacConfig? rbac = null, TracingConfig? tracing = null) =>
        new("upstream_test", HttpCodec.Auto, routes, null, rbac, tracing, false);

    public static RouteTableConfig Table(params RouteConfig[] routes) => new("test", [new VirtualHostConfig("all", ["*"], [.. routes])]);

    public static RouteMatchConfig Prefix(string prefix) => new(PathMatchKind.Prefix, prefix, null, true, [], []);

    public static RouteActionConfig To(string cluster, RetryPolicyConfig? retry = null, TimeSpan? timeout = null, string? rewrite = null) =>
        new(cluster, null, rewrite, timeout, null, retry, []);

    public static RouteConfig Route(RouteMatchConfig match, RouteActionConfig action, HeaderMutation? request = null, HeaderMutation? response = null) =>
        new(match, action, request ?? HeaderMutation.None, response ?? HeaderMutation.None);

    public static HeaderMutation Add(string name, string value) => new([new HeaderToAdd(name, value, false)], []);

    public static ClusterConfig Cluster(string name, UpstreamProtocol protocol = UpstreamProtocol.Http1) =>
        new(name, ClusterKind.Static, TimeSpan.FromSeconds(5), LbPolicy.RoundRobin, 2, null, protocol, null, [], [], null, null);

    public static WeightedClusterSet Split(params (string Name, int Weight)[] clusters) =>
        new([.. clusters.Select(c => new WeightedClusterConfig(c.Name, c.Weight, Add("x-split", c.Name), HeaderMutation.None))], clusters.Sum(c => c.Weight));

    public static RetryPolicyConfig Retry(int count, bool on5xx = false, bool onConnectFailure = false) =>
        new(count, onConnectFailure, false, on5xx, false, false, [], null);

    /// <summary>A loopback port that nothing listens on.</summary>
    public static IPEndPoint ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endPoint = (IPEndPoint)listener.LocalEndpoint;
        listener.Stop();
        return endPoint;
    }
}
