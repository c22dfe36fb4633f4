using System.Collections.Frozen;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Http;
using Mesh.Sidecar.Listeners;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Upstreams;
using Mesh.Sidecar.Xds;
using Mesh.Tracing;
using Mesh.Xds.Cache;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Hosting;

/// <summary>
/// The native sidecar put together: the xDS client feeding the accepted state, a warming step that turns it into the
/// served state (a listener is handed to the listener manager only once the secrets its TLS needs and its RDS route
/// configuration have arrived, as Envoy warms listeners), the listener manager binding what is served, and the admin
/// server (<c>/metrics</c>, <c>/ready</c>, <c>/config_dump</c>). Shutdown stops xDS, drains, and closes.
/// </summary>
/// <remarks>
/// The xDS ACK goes out when a response is translated, before its listeners are bound; a bind that then fails (port in
/// use) is logged and retried with the next state, as the agent has already heard "accepted". Envoy behaves the same
/// way for listeners that fail to bind after an ACK.
/// </remarks>
internal sealed partial class SidecarHost : IAsyncDisposable
{
    private readonly SidecarOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly StateHolder _accepted;
    private readonly StateHolder _served;
    private readonly SidecarMetrics _metrics;
    private readonly AdsClient _ads;
    private readonly IListenerManager _listeners;
    private readonly IClusterManager _clusters;
    private readonly IHttpProxy _http;
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _admin;
    private Task? _adsLoop;
    private Task? _warmLoop;
    private volatile string _readiness = "PRE_INITIALIZING";
    private volatile bool _draining;
    private int _stopped;
    private MeshTracer? _tracer;

    /// <summary>Wires a host from built parts; <see cref="Create(SidecarOptions, ILoggerFactory)"/> is the usual way in.</summary>
    /// <param name="options">The proxy's options.</param>
    /// <param name="services">The served state, metrics and loggers the parts were built with.</param>
    /// <param name="accepted">The accepted (unwarmed) state the xDS client publishes to.</param>
    /// <param name="translator">Turns xDS responses into state.</param>
    /// <param name="clusters">The cluster manager (the host keeps it for disposal).</param>
    /// <param name="http">The HTTP proxy (the host keeps it for disposal).</param>
    /// <param name="listeners">The listener manager the served state is applied to.</param>
    public SidecarHost(SidecarOptions options, SidecarServices services, StateHolder accepted, IResourceTranslator translator,
        IClusterManager clusters, IHttpProxy http, IListenerManager listeners)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(accepted);
        ArgumentNullException.ThrowIfNull(translator);
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(listeners);
        _options = options;
        _loggerFactory = services.LoggerFactory;
        _logger = _loggerFactory.CreateLogger<SidecarHost>();
        _accepted = accepted;
        _served = services.State;
        _metrics = services.Metrics;
        _clusters = clusters;
        _http = http;
        _listeners = listeners;
        _ads = new AdsClient(new AdsClientOptions(options.AgentGrpcAddress, options.ProxyId,
                options.ProxyService.Length > 0 ? options.ProxyService : options.ProxyId)
            {
                Token = options.Token,
                CaCertificates = LoadCa(options.AgentCaFile),
                InitialBackoff = options.InitialReconnectBackoff,
                MaxBackoff = options.MaxReconnectBackoff,
            }, translator, accepted, _metrics, _loggerFactory.CreateLogger<AdsClient>());
    }

    /// <summary>
    /// Builds the sidecar with Mesh's data plane: the xDS translator, the cluster manager, the HTTP proxy and the
    /// Kestrel listener manager, all reading the served (warmed) state.
    /// </summary>
    /// <exception cref="SidecarStartException">The options cannot be used (an unreadable CA file, a bad address).</exception>
    public static SidecarHost Create(SidecarOptions options, ILoggerFactory loggerFactory) =>
        Create(options, loggerFactory, new XdsTranslator(),
            s => new ClusterManager(s.State, s.Metrics, s.LoggerFactory.CreateLogger<ClusterManager>()),
            (s, clusters) => new HttpProxy(s.State, clusters, s.Metrics, s.LoggerFactory, DefaultTracing(s.Options)),
            (s, clusters, http) => new ListenerManager(s.State, clusters, http, s.Metrics, s.LoggerFactory, s.Options.DrainTimeout));

    /// <summary>
    /// The tracing of HTTP listeners that xDS does not configure: when the process exports spans, every request is
    /// traced at 100 % here and the process's own sampler (<c>-tracing-sample-ratio</c>) decides for new traces.
    /// </summary>
    internal static TracingConfig? DefaultTracing(SidecarOptions options) =>
        options.Tracing is { Exporters: not TraceExporters.None } ? new TracingConfig(100, null) : null;

    /// <summary>
    /// Builds the sidecar from its three data-plane parts. Each factory gets the <see cref="SidecarServices"/> (whose
    /// state is the served, warmed one) and the parts built before it, so the listener manager can hand HTTP
    /// listeners to the HTTP proxy and both can reach the cluster manager.
    /// </summary>
    /// <param name="options">The proxy's options.</param>
    /// <param name="loggerFactory">Loggers for every part.</param>
    /// <param name="translator">The xDS translator (<see cref="IResourceTranslator"/>).</param>
    /// <param name="clusters">Builds the cluster manager.</param>
    /// <param name="http">Builds the HTTP proxy.</param>
    /// <param name="listeners">Builds the listener manager.</param>
    /// <exception cref="SidecarStartException">The options cannot be used (an unreadable CA file, a bad address).</exception>
    public static SidecarHost Create(SidecarOptions options, ILoggerFactory loggerFactory, IResourceTranslator translator,
        Func<SidecarServices, IClusterManager> clusters,
        Func<SidecarServices, IClusterManager, IHttpProxy> http,
        Func<SidecarServices, IClusterManager, IHttpProxy, IListenerManager> listeners)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(listeners);
        // Bad options fail here, before any part is built (and would need disposing).
        _ = ParseBind(options.AdminBind);
        _ = LoadCa(options.AgentCaFile);
        var services = new SidecarServices(options, new StateHolder(), new SidecarMetrics(), loggerFactory);
        var clusterManager = clusters(services);
        var httpProxy = http(services, clusterManager);
        var listenerManager = listeners(services, clusterManager, httpProxy);
        return new SidecarHost(options, services, new StateHolder(), translator, clusterManager, httpProxy, listenerManager);
    }

    /// <summary>The admin server's address, once started.</summary>
    public Uri? AdminAddress { get; private set; }

    /// <summary>Whether listeners are bound from a first complete configuration (what <c>/ready</c> reports).</summary>
    public bool IsReady => _readiness == "LIVE" && !_draining;

    /// <summary>The state the xDS client accepted.</summary>
    public StateHolder Accepted => _accepted;

    /// <summary>The warmed state the data plane serves.</summary>
    public StateHolder Served => _served;

    /// <summary>The proxy's metrics.</summary>
    public SidecarMetrics Metrics => _metrics;

    /// <summary>The xDS client.</summary>
    internal AdsClient Ads => _ads;

    /// <summary>
    /// Starts the admin server, the xDS client and the warming loop, and returns. Logs
    /// <c>mesh connect proxy: &lt;id&gt; admin on http://...</c>.
    /// </summary>
    /// <exception cref="SidecarStartException">The admin address cannot be bound.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        StartTracing();
        await StartAdminAsync(cancellationToken).ConfigureAwait(false);
        LogStarted(_logger, _options.ProxyId, AdminAddress!.ToString().TrimEnd('/'), _options.AgentGrpcAddress.ToString().TrimEnd('/'));
        _adsLoop = _ads.RunAsync(_stopping.Token);
        _warmLoop = WarmLoopAsync(_stopping.Token);
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled (SIGINT/SIGTERM), then drains and stops.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await StopAsync().ConfigureAwait(false);
    }

    /// <summary>Stops xDS, drains every listener for up to the drain timeout, closes them and the admin server.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        _draining = true;
        LogDraining(_logger, (long)_options.DrainTimeout.TotalMilliseconds);
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var loop in new[] { _adsLoop, _warmLoop })
        {
            if (loop is null) continue;
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        try
        {
            await _listeners.DrainAsync(_options.DrainTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDrainFailed(_logger, ex);
        }

        await _listeners.DisposeAsync().ConfigureAwait(false);
        await DisposePart(_http).ConfigureAwait(false);
        await DisposePart(_clusters).ConfigureAwait(false);
        if (_admin is not null)
        {
            await _admin.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await _admin.DisposeAsync().ConfigureAwait(false);
        }

        _ads.Dispose();
        // Last: no request can start a span any more, and the spans still batched go out before the process exits.
        _tracer?.Dispose();
        LogStopped(_logger, _options.ProxyId);
    }

    /// <summary>Starts exporting spans when the options name an exporter, and says where they go.</summary>
    /// <exception cref="SidecarStartException">The tracing options are inconsistent.</exception>
    private void StartTracing()
    {
        if (_options.Tracing is not { Exporters: not TraceExporters.None } tracing) return;
        try
        {
            _tracer = MeshTracing.Configure(tracing, _loggerFactory);
        }
        catch (ArgumentException ex)
        {
            throw new SidecarStartException($"invalid tracing settings: {TracingOptions.ErrorText(ex)}", ex);
        }

        LogTracing(_logger, tracing.ServiceName, tracing.DescribeExporters(), tracing.SamplingRatio);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>
    /// Envoy's warming, applied to a whole state. A route configuration that names a cluster which has not arrived
    /// (or, for an EDS cluster, whose endpoints have not) keeps its previously served version until it has, as Envoy's
    /// ordered ADS updates and cluster warming ensure, so a split that adds a subset never answers "cluster not
    /// found". A listener whose TLS secrets, RDS routes or TCP proxy cluster are not all there is not served; if an
    /// earlier version of it was served, that version stays until the new one is warm (its connections and requests
    /// keep working), otherwise it is left out.
    /// </summary>
    /// <param name="accepted">The accepted state.</param>
    /// <param name="previous">The state served before, or null.</param>
    /// <param name="complete">Whether every accepted listener and route configuration is warm.</param>
    public static SidecarState Warm(SidecarState accepted, SidecarState? previous, out bool complete)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        complete = true;
        var served = accepted;
        Dictionary<string, RouteTableConfig>? routes = null;
        foreach (var (name, table) in accepted.Routes)
        {
            if (ClustersReady(table, accepted)) continue;
            complete = false;
            routes ??= new Dictionary<string, RouteTableConfig>(accepted.Routes, StringComparer.Ordinal);
            if (previous is not null && previous.Routes.TryGetValue(name, out var old)) routes[name] = old;
            else routes.Remove(name);
        }

        if (routes is not null)
        {
            served = served with { Routes = routes.ToFrozenDictionary(StringComparer.Ordinal) };
            if (previous is not null) served = KeepReferencedClusters(served, previous);
        }

        Dictionary<string, ListenerConfig>? listeners = null;
        foreach (var (name, listener) in accepted.Listeners)
        {
            if (IsWarm(listener, served)) continue;
            complete = false;
            listeners ??= new Dictionary<string, ListenerConfig>(accepted.Listeners, StringComparer.Ordinal);
            if (previous is not null && previous.Listeners.TryGetValue(name, out var old) && IsWarm(old, served)) listeners[name] = old;
            else listeners.Remove(name);
        }

        return listeners is null ? served : served with { Listeners = listeners.ToFrozenDictionary(StringComparer.Ordinal) };
    }

    /// <summary>What <see cref="Warm"/> served differently from what was accepted, for the debug log.</summary>
    private static IEnumerable<string> HeldBack(SidecarState accepted, SidecarState served)
    {
        foreach (var (name, table) in accepted.Routes)
        {
            if (!served.Routes.TryGetValue(name, out var kept)) yield return $"route {name} (not served yet)";
            else if (!ReferenceEquals(kept, table)) yield return $"route {name} (previous version)";
        }

        foreach (var (name, listener) in accepted.Listeners)
        {
            if (!served.Listeners.TryGetValue(name, out var kept)) yield return $"listener {name} (not served yet)";
            else if (!ReferenceEquals(kept, listener)) yield return $"listener {name} (previous version)";
        }

        foreach (var name in served.Clusters.Keys)
        {
            if (!accepted.Clusters.ContainsKey(name)) yield return $"cluster {name} (kept for a previous route)";
        }
    }

    /// <summary>Whether everything a listener needs from SDS, RDS and CDS/EDS is in <paramref name="state"/>.</summary>
    public static bool IsWarm(ListenerConfig listener, SidecarState state)
    {
        if (listener.Tls is { } tls)
        {
            if (!state.Certificates.ContainsKey(tls.CertificateSecret)) return false;
            if (tls.ValidationSecret is { } roots && !state.ValidationContexts.ContainsKey(roots)) return false;
        }

        return listener.App switch
        {
            HttpConnectionManagerConfig { RdsName: { } rds } => state.Routes.ContainsKey(rds),
            TcpProxyConfig { Cluster: { } cluster } => ClusterReady(cluster, state),
            TcpProxyConfig { WeightedClusters: { } weighted } => weighted.Clusters.All(c => ClusterReady(c.Name, state)),
            _ => true,
        };
    }

    /// <summary>
    /// Make before break: a route configuration still served in its previous version may send to clusters the new
    /// CDS response dropped (a split replaced the plain cluster); they stay, with their endpoints, until the new
    /// route configuration that no longer names them is served.
    /// </summary>
    private static SidecarState KeepReferencedClusters(SidecarState served, SidecarState previous)
    {
        Dictionary<string, ClusterConfig>? clusters = null;
        Dictionary<string, ClusterLoadAssignmentConfig>? endpoints = null;
        var pending = new Queue<string>(served.Routes.Values.SelectMany(ClusterNames));
        while (pending.TryDequeue(out var name))
        {
            var present = clusters is null ? served.Clusters.ContainsKey(name) : clusters.ContainsKey(name);
            if (present || !previous.Clusters.TryGetValue(name, out var old)) continue;
            clusters ??= new Dictionary<string, ClusterConfig>(served.Clusters, StringComparer.Ordinal);
            clusters[name] = old;
            // An aggregate's children go with it.
            foreach (var child in old.AggregateClusters) pending.Enqueue(child);
            var eds = old.EdsServiceName ?? old.Name;
            if (old.Kind == ClusterKind.Eds && !served.Endpoints.ContainsKey(eds) && previous.Endpoints.TryGetValue(eds, out var assignment))
            {
                endpoints ??= new Dictionary<string, ClusterLoadAssignmentConfig>(served.Endpoints, StringComparer.Ordinal);
                endpoints[eds] = assignment;
            }
        }

        if (clusters is not null) served = served with { Clusters = clusters.ToFrozenDictionary(StringComparer.Ordinal) };
        if (endpoints is not null) served = served with { Endpoints = endpoints.ToFrozenDictionary(StringComparer.Ordinal) };
        return served;
    }

    private static IEnumerable<string> ClusterNames(RouteTableConfig table)
    {
        foreach (var host in table.VirtualHosts)
        {
            foreach (var route in host.Routes)
            {
                if (route.Action.Cluster is { } cluster) yield return cluster;
                if (route.Action.WeightedClusters is { } weighted)
                {
                    foreach (var choice in weighted.Clusters) yield return choice.Name;
                }
            }
        }
    }

    /// <summary>Whether every cluster a route configuration sends to is ready.</summary>
    private static bool ClustersReady(RouteTableConfig table, SidecarState state)
    {
        foreach (var name in ClusterNames(table))
        {
            if (!ClusterReady(name, state)) return false;
        }

        return true;
    }

    /// <summary>A cluster is ready once it and its endpoints (for EDS), or its children (for aggregate), have arrived.</summary>
    private static bool ClusterReady(string name, SidecarState state, int depth = 0)
    {
        if (!state.Clusters.TryGetValue(name, out var cluster)) return false;
        return cluster.Kind switch
        {
            ClusterKind.Eds => state.Endpoints.ContainsKey(cluster.EdsServiceName ?? cluster.Name),
            // Aggregates do not nest in what Mesh emits; the depth bound keeps a malformed cycle finite.
            ClusterKind.Aggregate => depth < 4 && cluster.AggregateClusters.All(child => ClusterReady(child, state, depth + 1)),
            _ => true,
        };
    }

    /// <summary>Follows the accepted state: warm it, serve it, bind its listeners; a failed bind waits for the next state.</summary>
    private async Task WarmLoopAsync(CancellationToken cancellationToken)
    {
        SidecarState? seen = null;
        SidecarState? served = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            var accepted = _accepted.Current;
            if (!ReferenceEquals(accepted, seen))
            {
                seen = accepted;
                var next = Warm(accepted, served, out var complete);
                if (!complete && _logger.IsEnabled(LogLevel.Debug)) LogWarming(_logger, string.Join(", ", HeldBack(accepted, next)));
                served = next;
                _served.Publish(next);
                try
                {
                    await _listeners.ApplyAsync(next, cancellationToken).ConfigureAwait(false);
                    var types = _ads.AcceptedTypes;
                    if (complete && types.Contains(TypeUrls.Cluster) && types.Contains(TypeUrls.Listener) && accepted.Listeners.Count > 0)
                    {
                        if (_readiness != "LIVE") LogReady(_logger, accepted.Listeners.Count);
                        _readiness = "LIVE";
                    }
                    else if (_readiness != "LIVE")
                    {
                        _readiness = "INITIALIZING";
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Typically a port in use. The ACK has gone already; the next state (or the same listener once the
                    // port is free and anything changes) tries again.
                    LogApplyFailed(_logger, ex.Message);
                }
            }

            try
            {
                await _accepted.WaitForChangeAsync(seen, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task StartAdminAsync(CancellationToken cancellationToken)
    {
        var endpoint = ParseBind(_options.AdminBind);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "mesh-sidecar-admin" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(endpoint);
        });
        var app = builder.Build();
        app.Run(context => AdminServer.HandleAsync(context, this));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new SidecarStartException($"cannot bind the admin server to {_options.AdminBind}: {ex.Message}", ex);
        }

        _admin = app;
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        AdminAddress = new Uri(bound ?? $"http://{endpoint}");
    }

    /// <summary>Reads <c>host:port</c> (an IP, <c>[v6]</c>, or <c>localhost</c>); port 0 is allowed.</summary>
    /// <exception cref="SidecarStartException">Not a usable address.</exception>
    internal static IPEndPoint ParseBind(string value)
    {
        var colon = value?.LastIndexOf(':') ?? -1;
        if (value is null || colon <= 0 ||
            !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            throw new SidecarStartException($"admin bind address \"{value}\" must be <ip>:<port>");
        var host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return new IPEndPoint(IPAddress.Loopback, port);
        if (!IPAddress.TryParse(host, out var ip))
            throw new SidecarStartException($"admin bind address \"{value}\" must be <ip>:<port> (an IP address or localhost, not \"{host}\")");
        return new IPEndPoint(ip, port);
    }

    /// <summary>The readiness text <c>/ready</c> answers with: LIVE, PRE_INITIALIZING, INITIALIZING or DRAINING.</summary>
    internal string Readiness => _draining ? "DRAINING" : _readiness;

    private static X509Certificate2Collection? LoadCa(string? file)
    {
        if (string.IsNullOrEmpty(file)) return null;
        var cas = new X509Certificate2Collection();
        try
        {
            cas.ImportFromPemFile(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new SidecarStartException($"cannot read the gRPC CA file {file}: {ex.Message}", ex);
        }

        if (cas.Count == 0) throw new SidecarStartException($"the gRPC CA file {file} holds no PEM certificate");
        return cas;
    }

    private static async ValueTask DisposePart(object part)
    {
        switch (part)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}

/// <summary>The sidecar cannot start as configured; the message says why and is what the command prints.</summary>
internal sealed class SidecarStartException(string message, Exception? inner = null) : Exception(message, inner);
