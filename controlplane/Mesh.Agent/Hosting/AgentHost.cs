using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using Mesh.Agent.Config;
using Mesh.Agent.Events;
using Mesh.Agent.Http;
using Mesh.Agent.Logging;
using Mesh.Agent.Server;
using Mesh.Agent.Telemetry;
using Mesh.Consensus;
using Mesh.Consensus.Dev;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Fsm;
using Mesh.State.Tables;
using Mesh.Tracing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Hosting;

/// <summary>
/// A running agent: state store, log, FSM, HTTP API and background loops, wired together. Start one with
/// <see cref="StartAsync"/>; dispose it (or call <c>/v1/agent/leave</c>) to stop it.
/// </summary>
public sealed partial class AgentHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IReplicatedLog _log;
    private readonly SessionTimers _sessionTimers;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _reaper;
    private readonly Task _antiEntropy;
    private readonly Local.LocalState _local;
    private readonly Local.ConfigDefinitions _definitions;
    private readonly ILogger _logger;
    private readonly AgentLoggerProvider _logs;
    private readonly Dns.DnsServer? _dns;
    private readonly ConnectParts? _connect;
    private readonly GrpcHost? _grpc;
    private readonly MeshTracer _tracer;
    private int _disposed;

    private AgentHost(WebApplication app, IReplicatedLog log, SessionTimers sessionTimers, StateStore store, AgentConfig config,
        AgentIdentity identity, IReadOnlyList<Uri> httpAddresses, TombstoneReaper reaper, ILogger logger, AgentLoggerProvider logs,
        Local.LocalState local, Local.AntiEntropy antiEntropy, Local.ConfigDefinitions definitions, Dns.DnsServer? dns, ConnectParts? connect, GrpcHost? grpc,
        MeshTracer tracer)
    {
        _tracer = tracer;
        _dns = dns;
        _grpc = grpc;
        _connect = connect;
        _local = local;
        _definitions = definitions;
        _app = app;
        _log = log;
        _sessionTimers = sessionTimers;
        Store = store;
        Config = config;
        Identity = identity;
        HttpAddresses = httpAddresses;
        _logger = logger;
        _logs = logs;
        _reaper = reaper.RunAsync(config.TombstoneTtlGranularity, _stopping.Token);
        _antiEntropy = antiEntropy.RunAsync(_stopping.Token);
    }

    /// <summary>The agent's configuration.</summary>
    public AgentConfig Config { get; }

    /// <summary>Who the agent is.</summary>
    public AgentIdentity Identity { get; }

    /// <summary>The state store (read-only use: writes go through the log).</summary>
    public StateStore Store { get; }

    /// <summary>Where the HTTP API listens (the real ports when 0 was asked for).</summary>
    public IReadOnlyList<Uri> HttpAddresses { get; }

    /// <summary>Where gRPC (xDS) listens: <c>http://</c> plaintext, <c>https://</c> TLS (empty when both gRPC ports are -1).</summary>
    public IReadOnlyList<Uri> GrpcAddresses => _grpc?.Addresses ?? [];

    /// <summary>The xDS service, or null when gRPC is off.</summary>
    internal Mesh.Xds.Hosting.XdsService? Xds => _grpc?.Xds;

    /// <summary>Where the DNS server listens, UDP and TCP on each port (empty when <c>ports.dns</c> is -1).</summary>
    public IReadOnlyList<IPEndPoint> DnsEndpoints => _dns?.Endpoints ?? [];

    /// <summary>Completes when the agent has been asked to stop (leave, signal or dispose).</summary>
    public Task Stopped => _app.Lifetime.ApplicationStopping.IsCancellationRequested
        ? Task.CompletedTask
        : Task.Delay(Timeout.Infinite, _app.Lifetime.ApplicationStopping).ContinueWith(static _ => { }, TaskScheduler.Default);

    /// <summary>Starts an agent with <paramref name="config"/>, logging to <paramref name="output"/>.</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="output">Where logs go.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <param name="time">The clock every timer of the agent uses; the system clock unless a test substitutes its own.</param>
    /// <param name="tracing">How the agent traces its HTTP API (the <c>OTEL_*</c> environment with the <c>tracing</c>
    /// block and flags applied); null or no exporter: not at all. The agent flushes the spans when it stops.</param>
    /// <exception cref="ConfigException">The configuration cannot run (a mode this version lacks, a bad address...).</exception>
    public static async Task<AgentHost> StartAsync(AgentConfig config, TextWriter output, CancellationToken cancellationToken = default,
        TimeProvider? time = null, TracingOptions? tracing = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(output);
        Validate(config);
        Local.ConfigDefinitions.Validate(config, config.NodeName);
        AgentLoggerProvider.TryParseLevel(config.LogLevel, out var level);
        var logs = new AgentLoggerProvider(output, level, config.LogJson);
        var loggerFactory = LoggerFactory.Create(b =>
        {
            b.ClearProviders();
            b.AddProvider(logs);
            b.SetMinimumLevel(LogLevel.Trace);
            // The framework's own chatter stays out unless something goes wrong.
            b.AddFilter("Microsoft", LogLevel.Warning);
            b.AddFilter("System", LogLevel.Warning);
        });
        var logger = loggerFactory.CreateLogger("Mesh.Agent.Agent");
        // Tracing starts before the HTTP API listens, so the first request can already be traced.
        var tracer = StartTracing(tracing, loggerFactory, logger);
        try
        {
            return await StartPartsAsync(config, logs, loggerFactory, logger, tracer, time, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            tracer.Dispose();
            throw;
        }
    }

    /// <summary>Starts tracing when <paramref name="tracing"/> names an exporter, and logs where spans go.</summary>
    private static MeshTracer StartTracing(TracingOptions? tracing, ILoggerFactory loggerFactory, ILogger logger)
    {
        MeshTracer tracer;
        try
        {
            tracer = MeshTracing.Configure(tracing ?? new TracingOptions(), loggerFactory);
        }
        catch (ArgumentException ex)
        {
            throw new ConfigException($"invalid tracing settings: {TracingOptions.ErrorText(ex)}");
        }

        if (tracer.Enabled) LogTracing(logger, tracer.Options.ServiceName, tracer.Options.DescribeExporters(), tracer.Options.SamplingRatio);
        return tracer;
    }

    private static async Task<AgentHost> StartPartsAsync(AgentConfig config, AgentLoggerProvider logs, ILoggerFactory loggerFactory, ILogger logger,
        MeshTracer tracer, TimeProvider? time, CancellationToken cancellationToken)
    {
        var identity = new AgentIdentity(
            string.IsNullOrEmpty(config.NodeId) ? Guid.NewGuid().ToString() : config.NodeId,
            config.NodeName, config.Datacenter, config.EffectiveAdvertiseAddr, DateTime.UtcNow);
        time ??= TimeProvider.System;
        var store = new StateStore();
        var fsm = new StateMachine(store);
        var serverAddr = $"{identity.AdvertiseAddr}:{config.Ports.Server.ToString(CultureInfo.InvariantCulture)}";
        var log = new InMemoryLog(fsm, serverAddr);
        var writer = new StateWriter(log, time);
        var sessionTimers = new SessionTimers(writer, store, time, loggerFactory.CreateLogger<SessionTimers>());
        var reaper = new TombstoneReaper(store, writer, time, config.TombstoneTtl, loggerFactory.CreateLogger<TombstoneReaper>());
        var metrics = new Metrics();
        RegisterGauges(metrics, store, log, sessionTimers);
        var events = new EventBuffer();

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "mesh" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        // A burst of watchers connecting at once must not overflow the accept queue (the kernel caps it at somaxconn).
        builder.WebHost.UseSockets(o => o.Backlog = 4096);
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 8 * 1024 * 1024;
            k.Limits.MaxConcurrentConnections = null;
            k.Limits.MaxConcurrentUpgradedConnections = null;
            k.Limits.KeepAliveTimeout = TimeSpan.FromMinutes(2);
            foreach (var addr in ClientAddresses(config))
                k.Listen(addr, config.Ports.Http, o => o.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        WebApplication? appRef = app;
        var local = new Local.LocalState(identity.NodeName, new Checks.CheckProbeFactory(config.EnableScriptChecks), time,
            loggerFactory.CreateLogger<Local.LocalState>(), store);
        var api = new HttpApi(config, store, writer, sessionTimers, events, metrics, logs, identity,
            () => appRef.Lifetime.StopApplication(), loggerFactory.CreateLogger<HttpApi>(), local);
        api.Stopping = app.Lifetime.ApplicationStopping;
        api.ConfigEntries = new Connect.ConfigEntryWriter(store, writer, identity.Datacenter, loggerFactory.CreateLogger<Connect.ConfigEntryWriter>());
        api.Intentions = new Connect.IntentionWriter(store, api.ConfigEntries, time, loggerFactory.CreateLogger<Connect.IntentionWriter>());
        AgentHost? hostRef = null;
        api.Reload = () => hostRef?.ReloadAsync() ?? Task.CompletedTask;
        // Parked blocking queries answer at once on shutdown instead of holding it up until their wait runs out.
        app.Lifetime.ApplicationStopping.Register(store.StopBlocking);
        app.Run(api.HandleAsync);

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("[::]", "[::1]", StringComparison.Ordinal))).ToList();

        // The agent registers its own node through the log, like any other write, with the serfHealth check sessions tie to.
        var selfNode = new Node
            {
                ID = identity.NodeId,
                Name = identity.NodeName,
                Address = identity.AdvertiseAddr,
                Datacenter = identity.Datacenter,
                TaggedAddresses = new Dictionary<string, string> { ["lan"] = identity.AdvertiseAddr, ["wan"] = identity.AdvertiseAddr }
                    .ToImmutableDictionary(StringComparer.Ordinal),
                Meta = new Dictionary<string, string> { ["consul-network-segment"] = "" }.ToImmutableDictionary(StringComparer.Ordinal),
            };
        var register = new RegisterNodeCommand(selfNode,
            [new HealthCheck
            {
                Node = identity.NodeName,
                CheckID = "serfHealth",
                Name = "Serf Health Status",
                Status = HealthStatus.Passing,
                Output = "Agent alive and reachable",
                Type = "",
            }]);
        await writer.ApplyAsync(register, cancellationToken).ConfigureAwait(false);
        sessionTimers.Initialize(store.View());

        var antiEntropy = new Local.AntiEntropy(local, store, writer, selfNode, time, loggerFactory.CreateLogger<Local.AntiEntropy>());
        metrics.Gauge("agent.services", () => local.Services().Count);
        metrics.Gauge("agent.checks", () => local.Checks().Count);
        metrics.Gauge("agent.anti_entropy.syncs", () => antiEntropy.Syncs);
        var definitions = new Local.ConfigDefinitions(identity.NodeName);
        definitions.Apply(config, local);
        api.Persistence = new Local.LocalPersistence(config.DataDir, loggerFactory.CreateLogger<Local.LocalPersistence>());
        api.RestorePersisted((file, why) => LogSkippedPersisted(logger, file, why));
        Dns.DnsServer? dns = null;
        if (config.Ports.Dns != -1)
        {
            var counters = new Dns.DnsCounters();
            var queries = new Dns.PreparedQueryLookup(new Queries.PreparedQueryExecutor(Random.Shared), identity.NodeName);
            var resolver = new Dns.DnsResolver(config.Domain, config.Dns.AltDomain, identity.Datacenter, identity.NodeName, queries);
            var cache = new Dns.DnsAnswerCache(store, resolver, queries);
            var dnsConfig = config.Dns;
            var responder = new Dns.DnsResponder(cache, () => dnsConfig, counters);
            try
            {
                dns = Dns.DnsServer.Start([.. DnsAddresses(config)], config.Ports.Dns, responder,
                    new Dns.DnsForwarder(loggerFactory.CreateLogger<Dns.DnsForwarder>()), () => dnsConfig, counters,
                    loggerFactory.CreateLogger<Dns.DnsServer>());
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
                await app.DisposeAsync().ConfigureAwait(false);
                throw new ConfigException($"cannot listen for DNS on port {config.Ports.Dns}: {ex.Message}");
            }
            RegisterDnsGauges(metrics, counters, cache);
        }
        ConnectParts? connect = null;
        if (config.Connect.Enabled)
        {
            try
            {
                connect = await StartConnectAsync(config, store, writer, identity, time, loggerFactory, metrics, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // A CA that cannot start (a stored key that does not load) stops the agent: nothing may keep listening.
                if (dns is not null) await dns.DisposeAsync().ConfigureAwait(false);
                await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
                await app.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            api.Connect = new ConnectServices(connect.Ca, connect.Leaves, new Connect.IntentionAuthorizer(config.DefaultIntentionPolicy));
        }
        GrpcHost? grpc = null;
        if (config.Ports.Grpc >= 0 || config.Ports.GrpcTls >= 0)
        {
            // No ACLs yet: without default_intention_policy, the ACL default (allow) decides, as the authorize endpoint does.
            var xds = new Mesh.Xds.Hosting.XdsService(store, connect is null ? null : new Connect.LeafSource(connect.Leaves),
                new Mesh.Xds.Hosting.XdsServiceOptions(identity.NodeName, identity.Datacenter, config.DefaultIntentionPolicy != "deny"),
                new Mesh.Xds.Grpc.GrpcServerOptions(), loggerFactory);
            try
            {
                grpc = await GrpcHost.StartAsync(config, [.. ClientAddresses(config)], xds, loggerFactory, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await xds.DisposeAsync().ConfigureAwait(false);
                if (dns is not null) await dns.DisposeAsync().ConfigureAwait(false);
                if (connect is not null) await connect.StopAsync().ConfigureAwait(false);
                await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
                await app.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            RegisterXdsGauges(metrics, grpc);
            api.GrpcAddresses = grpc.Addresses;
        }
        var host = new AgentHost(app, log, sessionTimers, store, config, identity, addresses, reaper, logger, logs, local, antiEntropy, definitions, dns, connect, grpc, tracer);
        hostRef = host;
        if (config.PidFile.Length > 0) await File.WriteAllTextAsync(config.PidFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        host.LogStarted(identity.NodeName, identity.NodeId, identity.Datacenter);
        // The gRPC line comes first: a supervisor that waits for the HTTP line then knows both.
        foreach (var a in host.GrpcAddresses) host.LogGrpcListening(a.ToString().TrimEnd('/'));
        foreach (var a in addresses) host.LogListening(a.ToString().TrimEnd('/'));
        return host;
    }

    private static void Validate(AgentConfig config)
    {
        if (!config.DevMode)
            throw new ConfigException("only -dev mode is available in this version: persistent servers and client agents arrive with Raft and gossip");
        if (!AgentLoggerProvider.TryParseLevel(config.LogLevel, out _))
            throw new ConfigException($"invalid log level \"{config.LogLevel}\": use trace, debug, info, warn or err");
        if (config.Ports.Http is < -1 or > 65535) throw new ConfigException($"invalid HTTP port {config.Ports.Http}");
        if (config.Ports.Http == -1) throw new ConfigException("the HTTP API cannot be disabled in this version (ports.http = -1)");
        if (config.NodeId.Length > 0 && !Guid.TryParse(config.NodeId, out _)) throw new ConfigException($"node ID \"{config.NodeId}\" is not a UUID");
        if (config.NodeName.Length == 0) throw new ConfigException("node name cannot be empty");
        _ = ClientAddresses(config);
        if (config.Ports.Dns is < -1 or > 65535) throw new ConfigException($"invalid DNS port {config.Ports.Dns}");
        if (config.Ports.Grpc is < -1 or > 65535) throw new ConfigException($"invalid gRPC port {config.Ports.Grpc}");
        if (config.Ports.GrpcTls is < -1 or > 65535) throw new ConfigException($"invalid gRPC TLS port {config.Ports.GrpcTls}");
        if (config.Ports.GrpcTls >= 0 && (config.GrpcTls.CertFile.Length == 0 || config.GrpcTls.KeyFile.Length == 0))
            throw new ConfigException("ports.grpc_tls needs a certificate: set tls.grpc (or tls.defaults) cert_file and key_file");
        if (config.Ports.Grpc > 0 && config.Ports.Grpc == config.Ports.GrpcTls)
            throw new ConfigException($"ports.grpc and ports.grpc_tls cannot both be {config.Ports.Grpc}");
        if (!Dns.DnsResolver.IsValidDomain(config.Domain)) throw new ConfigException($"invalid DNS domain \"{config.Domain}\"");
        if (config.Dns.AltDomain.Length > 0 && !Dns.DnsResolver.IsValidDomain(config.Dns.AltDomain))
            throw new ConfigException($"invalid DNS alt domain \"{config.Dns.AltDomain}\"");
        foreach (var r in config.Dns.Recursors) _ = Dns.DnsForwarder.ParseRecursor(r);
        _ = DnsAddresses(config);
    }

    private static async Task<ConnectParts> StartConnectAsync(AgentConfig config, StateStore store, StateWriter writer, AgentIdentity identity,
        TimeProvider time, ILoggerFactory loggerFactory, Metrics metrics, CancellationToken ct)
    {
        var ca = new Connect.CaManager(store, writer, identity, time, loggerFactory.CreateLogger<Connect.CaManager>());
        using var caConfig = System.Text.Json.JsonDocument.Parse(config.Connect.CaConfigJson);
        var settings = Connect.CaSettings.Parse(caConfig.RootElement);
        await ca.InitializeAsync(config.Connect.CaProvider, settings, ct).ConfigureAwait(false);
        var leaves = new Connect.LeafCertificates(ca, store, identity.Datacenter, time, loggerFactory.CreateLogger<Connect.LeafCertificates>());
        var stopping = new CancellationTokenSource();
        // Rotated-out roots are checked hourly: they outlive their last leaf by hours at the least.
        var loops = Task.WhenAll(ca.RunAsync(TimeSpan.FromHours(1), stopping.Token), leaves.RunAsync(stopping.Token));
        metrics.Gauge("connect.ca.leaves_signed", () => ca.Signed);
        metrics.Gauge("connect.ca.rate_limited", () => ca.RateLimited);
        metrics.Gauge("connect.leaves.issued", () => leaves.Issued);
        metrics.Gauge("connect.leaves.kept", () => leaves.Count);
        return new ConnectParts(ca, leaves, stopping, loops);
    }

    /// <summary>The running Connect pieces and their background loops.</summary>
    private sealed record ConnectParts(Connect.CaManager Ca, Connect.LeafCertificates Leaves, CancellationTokenSource Stopping, Task Loops)
    {
        public async Task StopAsync()
        {
            await Stopping.CancelAsync().ConfigureAwait(false);
            await Loops.ConfigureAwait(false);
            await Leaves.DisposeAsync().ConfigureAwait(false);
            Ca.Dispose();
            Stopping.Dispose();
        }
    }

    private static IEnumerable<IPAddress> DnsAddresses(AgentConfig config)
    {
        if (config.DnsAddr.Length == 0) return ClientAddresses(config);
        var parts = config.DnsAddr.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Select(p => IPAddress.TryParse(p, out var ip) ? ip : throw new ConfigException($"DNS address \"{p}\" is not an IP address")).ToList();
    }

    private static void RegisterDnsGauges(Metrics metrics, Dns.DnsCounters counters, Dns.DnsAnswerCache cache)
    {
        metrics.Gauge("dns.queries_udp", () => counters.Udp);
        metrics.Gauge("dns.queries_tcp", () => counters.Tcp);
        metrics.Gauge("dns.malformed_dropped", () => counters.MalformedDropped);
        metrics.Gauge("dns.rejected", () => counters.RejectedCount);
        metrics.Gauge("dns.truncated", () => counters.TruncatedCount);
        metrics.Gauge("dns.recursed", () => counters.RecursedCount);
        metrics.Gauge("dns.recursor_failures", () => counters.RecursorFailures);
        metrics.Gauge("dns.cache_hits", () => cache.Hits);
        metrics.Gauge("dns.cache_misses", () => cache.Misses);
    }

    private static void RegisterXdsGauges(Metrics metrics, GrpcHost grpc)
    {
        var xds = grpc.Xds;
        var calls = xds.Grpc.Counters;
        metrics.Gauge("xds.proxies_watched", () => xds.WatchedProxies);
        metrics.Gauge("xds.snapshots_published", () => xds.SnapshotsPublished);
        metrics.Gauge("xds.assignments_made", () => xds.AssignmentsMade);
        metrics.Gauge("xds.streams_active", () => xds.Counters.ActiveStreams);
        foreach (var type in Mesh.Xds.Cache.TypeUrls.Ordered)
        {
            var name = Mesh.Xds.Cache.TypeUrls.ShortName(type).ToLowerInvariant();
            metrics.Gauge($"xds.{name}.responses", () => xds.Counters.ResponsesSent(type));
            metrics.Gauge($"xds.{name}.acks", () => xds.Counters.Acks(type));
            metrics.Gauge($"xds.{name}.nacks", () => xds.Counters.Nacks(type));
        }
        metrics.Gauge("grpc.calls_started", () => calls.CallsStarted);
        metrics.Gauge("grpc.calls_active", () => calls.CallsActive);
        metrics.Gauge("grpc.malformed_messages", () => calls.MalformedMessages);
    }

    private static IEnumerable<IPAddress> ClientAddresses(AgentConfig config)
    {
        var parts = config.ClientAddr.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ConfigException("client address cannot be empty");
        return parts.Select(p => IPAddress.TryParse(p, out var ip) ? ip : throw new ConfigException($"client address \"{p}\" is not an IP address")).ToList();
    }

    private static void RegisterGauges(Metrics metrics, StateStore store, IReplicatedLog log, SessionTimers timers)
    {
        metrics.Gauge("runtime.alloc_bytes", () => GC.GetTotalMemory(false));
        metrics.Gauge("runtime.heap_size_bytes", () => GC.GetGCMemoryInfo().HeapSizeBytes);
        metrics.Gauge("runtime.rss_bytes", () => Environment.WorkingSet);
        metrics.Gauge("runtime.threads", () => System.Threading.ThreadPool.ThreadCount);
        metrics.Gauge("runtime.gc_gen0_count", () => GC.CollectionCount(0));
        metrics.Gauge("runtime.gc_gen1_count", () => GC.CollectionCount(1));
        metrics.Gauge("runtime.gc_gen2_count", () => GC.CollectionCount(2));
        metrics.Gauge("runtime.gc_pause_ms_total", () => GC.GetTotalPauseDuration().TotalMilliseconds);
        metrics.Gauge("raft.applied_index", () => log.AppliedIndex);
        metrics.Gauge("raft.leader", () => log.Leadership.IsLeader ? 1 : 0);
        metrics.Gauge("state.kv_entries", () => store.View().RowCounts()[TableNames.Kvs]);
        metrics.Gauge("state.tombstones", () => store.View().RowCounts()[TableNames.Tombstones]);
        metrics.Gauge("state.sessions", () => store.View().RowCounts()[TableNames.Sessions]);
        metrics.Gauge("state.watch_slots", () => store.Watches.Slots);
        metrics.Gauge("session_ttl.active", () => timers.Count);
    }

    /// <summary>
    /// Reads the config files again and applies the difference in service and check definitions
    /// (<c>mesh reload</c>, <c>PUT /v1/agent/reload</c>, SIGHUP).
    /// </summary>
    /// <exception cref="ConfigException">The files cannot be used; nothing was changed.</exception>
    public Task ReloadAsync()
    {
        var fresh = ConfigLoader.ApplyPaths(new AgentConfig { NodeName = Identity.NodeName }, Config.ConfigPaths);
        _definitions.Apply(fresh, _local);
        LogReloaded(fresh.Services.Count, fresh.Checks.Count);
        return Task.CompletedTask;
    }

    /// <summary>Stops the agent: the API first, then the background loops and the log.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        LogStopping();
        _stopping.Cancel();
        // gRPC first: its streams end with UNAVAILABLE while the state they watch is still there.
        if (_grpc is not null) await _grpc.DisposeAsync().ConfigureAwait(false);
        if (_dns is not null) await _dns.DisposeAsync().ConfigureAwait(false);
        if (_connect is not null) await _connect.StopAsync().ConfigureAwait(false);
        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) { }
        await _reaper.ConfigureAwait(false);
        await _antiEntropy.ConfigureAwait(false);
        await _local.DisposeAsync().ConfigureAwait(false);
        _sessionTimers.Dispose();
        await _log.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (Config.PidFile.Length > 0) File.Delete(Config.PidFile);
        // Last, once no request can start a span: the spans still batched are sent before the process exits.
        _tracer.Dispose();
        _logs.Dispose();
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "agent started: node {Node} ({NodeId}) in datacenter {Datacenter}, dev mode, single-node in-memory log")]
    private partial void LogStarted(string node, string nodeId, string datacenter);

    [LoggerMessage(Level = LogLevel.Information, Message = "gRPC (xDS) listening on {Address}")]
    private partial void LogGrpcListening(string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "HTTP API listening on {Address}")]
    private partial void LogListening(string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "skipping persisted registration {File}: {Reason}")]
    private static partial void LogSkippedPersisted(ILogger logger, string file, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "configuration reloaded: {Services} service and {Checks} check definitions")]
    private partial void LogReloaded(int services, int checks);

    [LoggerMessage(Level = LogLevel.Information, Message = "tracing: HTTP API spans as service {Service} to {Destinations}, sampling {Ratio} of new traces")]
    private static partial void LogTracing(ILogger logger, string service, string destinations, double ratio);

    [LoggerMessage(Level = LogLevel.Information, Message = "agent stopping")]
    private partial void LogStopping();
}
