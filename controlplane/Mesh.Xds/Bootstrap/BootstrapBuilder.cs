using System.Globalization;
using System.Net;
using Envoy.Config.Accesslog.V3;
using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Metrics.V3;
using Envoy.Config.Route.V3;
using Envoy.Config.Trace.V3;
using Envoy.Extensions.AccessLoggers.File.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Extensions.Upstreams.Http.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Mesh.State.Text;
using EnvoyBootstrap = Envoy.Config.Bootstrap.V3.Bootstrap;
using Filter = Envoy.Config.Listener.V3.Filter;
using HttpProtocolOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;
using SocketAddress = Envoy.Config.Core.V3.SocketAddress;
using Tracing = Envoy.Config.Trace.V3.Tracing;

namespace Mesh.Xds.Bootstrap;

/// <summary>An Envoy bootstrap, as a message and as the JSON text handed to <c>envoy --config-path</c>.</summary>
/// <param name="Bootstrap">The bootstrap message.</param>
/// <param name="Json">Its protobuf JSON, indented, laid out as Consul's bootstrap is.</param>
public sealed record BootstrapResult(EnvoyBootstrap Bootstrap, string Json);

/// <summary>
/// Builds the Envoy bootstrap a Mesh proxy starts from (what <c>mesh connect envoy -bootstrap</c> prints), with the
/// layout of Consul's <c>connect envoy</c>: the admin API, the node identity the xDS server keys on, a STATIC
/// <c>local_agent</c> cluster to the agent's gRPC port, and listeners and clusters over ADS (delta, v3) through it;
/// optionally Prometheus and <c>/stats</c> listeners in front of the admin API, stats sinks, tags and tracing.
/// A pure function of its input.
/// </summary>
public static class BootstrapBuilder
{
    /// <summary>The static cluster that carries the ADS stream to the agent.</summary>
    public const string LocalAgentClusterName = "local_agent";

    /// <summary>The static cluster the metrics listeners forward to: Envoy's own admin API.</summary>
    public const string SelfAdminClusterName = "self_admin";

    /// <summary>The gRPC metadata key that carries the ACL token on the ADS stream.</summary>
    public const string TokenMetadataKey = "x-consul-token";

    private const string PrometheusListenerName = "envoy_prometheus_metrics";
    private const string StatsListenerName = "envoy_metrics";
    private const string HttpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /// <summary>Builds the bootstrap.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    /// <exception cref="BootstrapException">A setting or address is malformed; the message names it.</exception>
    public static BootstrapResult Build(BootstrapInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Validate(input);
        var settings = input.Settings;
        var bootstrap = new EnvoyBootstrap
        {
            Admin = Admin(input),
            Node = Node(input),
            LayeredRuntime = Runtime(),
            StaticResources = new EnvoyBootstrap.Types.StaticResources(),
            DynamicResources = Dynamic(input),
        };
        var statics = bootstrap.StaticResources;
        statics.Clusters.Add(LocalAgentCluster(input));

        if (settings.ExtraStaticListenersJson is { } extra)
            statics.Listeners.AddRange(BootstrapJson.ParseList<Listener>("envoy_extra_static_listeners_json", extra));
        var needsSelfAdmin = false;
        if (settings.PrometheusBindAddr is { } prometheus)
        {
            statics.Listeners.Add(AdminProxyListener("envoy_prometheus_bind_addr", prometheus, PrometheusListenerName,
                new RouteMatch { Path = "/metrics" }, "/stats/prometheus"));
            needsSelfAdmin = true;
        }
        if (settings.StatsBindAddr is { } stats)
        {
            statics.Listeners.Add(AdminProxyListener("envoy_stats_bind_addr", stats, StatsListenerName,
                new RouteMatch { Prefix = "/stats" }, "/stats"));
            needsSelfAdmin = true;
        }
        if (needsSelfAdmin) statics.Clusters.Add(SelfAdminCluster(input));
        RejectDuplicateListeners(statics);

        bootstrap.StatsSinks.AddRange(StatsSinks(settings));
        bootstrap.StatsConfig = settings.StatsConfigJson is { } statsConfig
            ? BootstrapJson.ParseOne<StatsConfig>("envoy_stats_config_json", statsConfig)
            : StatsTags.Build(settings.StatsTags, input.ProxyCluster, input.ProxySourceService ?? input.ProxyCluster, input.Datacenter);
        if (settings.StatsFlushInterval is { } flush) bootstrap.StatsFlushInterval = FlushInterval(flush);
        // Envoy versions differ on where they read tracing from: older ones only the bootstrap, newer ones the HTTP
        // connection manager (which Mesh also sets over xDS). Keeping it here as Consul does serves both.
        if (settings.TracingJson is { } tracing) bootstrap.Tracing = BootstrapJson.ParseOne<Tracing>("envoy_tracing_json", tracing);

        return new BootstrapResult(bootstrap, BootstrapJson.Format(bootstrap));
    }

    /// <summary>
    /// Parses bootstrap JSON (what <see cref="Build"/> writes, or any v3 bootstrap using the message types Mesh
    /// compiles) back into the message.
    /// </summary>
    /// <exception cref="BootstrapException">The text is not a valid bootstrap.</exception>
    public static EnvoyBootstrap Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return BootstrapJson.ParseOne<EnvoyBootstrap>("bootstrap", json);
    }

    /// <summary>The type registry covering every message type packed into a bootstrap's <c>Any</c> fields.</summary>
    public static TypeRegistry TypeRegistry => BootstrapJson.Registry;

    private static void Validate(BootstrapInput input)
    {
        if (string.IsNullOrEmpty(input.ProxyId)) throw new BootstrapException("proxy ID", "must not be empty");
        if (string.IsNullOrEmpty(input.ProxyCluster)) throw new BootstrapException("proxy cluster", "must not be empty");
        if (input.AgentGrpcSocketPath is null)
        {
            RequireIp("agent gRPC address", input.AgentGrpcAddress);
            RequirePort("agent gRPC port", input.AgentGrpcPort);
        }
        RequireIp("admin bind address", input.AdminBindAddress);
        RequirePort("admin bind port", input.AdminBindPort);
        if (input.AgentGrpcTls && string.IsNullOrWhiteSpace(input.AgentCaPem))
            throw new BootstrapException("agent gRPC TLS", "a CA certificate is required to verify the agent");
    }

    private static Admin Admin(BootstrapInput input)
    {
        var admin = new Admin { Address = SocketAddress(input.AdminBindAddress, input.AdminBindPort) };
        if (input.AdminAccessLogPath.Length > 0)
        {
            // The typed access log rather than the deprecated access_log_path string; same file, same effect.
            admin.AccessLog.Add(new AccessLog
            {
                Name = "envoy.access_loggers.file",
                TypedConfig = Any.Pack(new FileAccessLog { Path = input.AdminAccessLogPath }),
            });
        }
        return admin;
    }

    private static Node Node(BootstrapInput input)
    {
        var metadata = new Struct();
        metadata.Fields["namespace"] = Value.ForString("default");
        metadata.Fields["partition"] = Value.ForString("default");
        return new Node { Id = input.ProxyId, Cluster = input.ProxyCluster, Metadata = metadata };
    }

    // Consul raises RE2's program-size limit from a warning to an error threshold of 1 MiB so the long generated
    // regexes of intentions (RBAC principals) and routes are accepted.
    private static LayeredRuntime Runtime()
    {
        var layer = new Struct();
        layer.Fields["re2.max_program_size.error_level"] = Value.ForNumber(1048576);
        var runtime = new LayeredRuntime();
        runtime.Layers.Add(new RuntimeLayer { Name = "base", StaticLayer = layer });
        return runtime;
    }

    private static Cluster LocalAgentCluster(BootstrapInput input)
    {
        var cluster = new Cluster
        {
            Name = LocalAgentClusterName,
            Type = Cluster.Types.DiscoveryType.Static,
            ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
            LoadAssignment = Endpoints(LocalAgentClusterName, input.AgentGrpcSocketPath is { } socket
                ? new Address { Pipe = new Pipe { Path = socket } }
                : SocketAddress(input.AgentGrpcAddress, input.AgentGrpcPort)),
        };
        // gRPC needs HTTP/2 to the agent; the typed protocol options replace the deprecated http2_protocol_options.
        cluster.TypedExtensionProtocolOptions[HttpProtocolOptionsKey] = Any.Pack(new HttpProtocolOptions
        {
            ExplicitHttpConfig = new HttpProtocolOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
        });
        if (input.AgentGrpcTls)
        {
            var tls = new UpstreamTlsContext
            {
                CommonTlsContext = new CommonTlsContext
                {
                    ValidationContext = new CertificateValidationContext { TrustedCa = new DataSource { InlineString = input.AgentCaPem } },
                },
            };
            cluster.TransportSocket = new TransportSocket { Name = "tls", TypedConfig = Any.Pack(tls) };
        }
        return cluster;
    }

    private static Cluster SelfAdminCluster(BootstrapInput input) => new()
    {
        Name = SelfAdminClusterName,
        Type = Cluster.Types.DiscoveryType.Static,
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
        LoadAssignment = Endpoints(SelfAdminClusterName, SocketAddress(LoopbackFor(input.AdminBindAddress), input.AdminBindPort)),
    };

    // An admin API bound to every address (0.0.0.0 or ::) is reached over loopback; connecting to the wildcard
    // address itself is not portable.
    private static string LoopbackFor(string address) => IPAddress.Parse(address) switch
    {
        var a when a.Equals(IPAddress.Any) => "127.0.0.1",
        var a when a.Equals(IPAddress.IPv6Any) => "::1",
        _ => address,
    };

    private static Listener AdminProxyListener(string setting, string bindAddr, string name, RouteMatch match, string rewrite)
    {
        var (host, port) = SplitHostPort(setting, bindAddr);
        var vhost = new VirtualHost { Name = SelfAdminClusterName, Domains = { "*" } };
        vhost.Routes.Add(new Route { Match = match, Route_ = new RouteAction { Cluster = SelfAdminClusterName, PrefixRewrite = rewrite } });
        // Anything else is refused: the admin API must not be reachable through this listener.
        vhost.Routes.Add(new Route { Match = new RouteMatch { Prefix = "/" }, DirectResponse = new DirectResponseAction { Status = 404 } });
        var hcm = new HttpConnectionManager
        {
            StatPrefix = name,
            CodecType = HttpConnectionManager.Types.CodecType.Http1,
            RouteConfig = new RouteConfiguration { Name = "self_admin_route", VirtualHosts = { vhost } },
            HttpFilters = { new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) } },
        };
        var listener = new Listener { Name = name + "_listener", Address = SocketAddress(host, port) };
        listener.FilterChains.Add(new FilterChain
        {
            Filters = { new Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(hcm) } },
        });
        return listener;
    }

    private static IEnumerable<StatsSink> StatsSinks(BootstrapSettings settings)
    {
        if (settings.StatsdUrl is { } statsd)
            yield return new StatsSink
            {
                Name = "envoy.stat_sinks.statsd",
                TypedConfig = Any.Pack(new StatsdSink { Address = SinkAddress("envoy_statsd_url", statsd) }),
            };
        if (settings.DogstatsdUrl is { } dogstatsd)
            yield return new StatsSink
            {
                Name = "envoy.stat_sinks.dog_statsd",
                TypedConfig = Any.Pack(new DogStatsdSink { Address = SinkAddress("envoy_dogstatsd_url", dogstatsd) }),
            };
        if (settings.ExtraStatsSinksJson is { } extra)
            foreach (var sink in BootstrapJson.ParseList<StatsSink>("envoy_extra_stats_sinks_json", extra))
                yield return sink;
    }

    // udp://<ip>:<port> or unix:///path, the two forms Consul accepts.
    private static Address SinkAddress(string setting, string url)
    {
        if (url.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
        {
            var path = url["unix://".Length..];
            if (path.Length == 0 || path[0] != '/') throw new BootstrapException(setting, $"\"{url}\" must be unix:///absolute/path");
            return new Address { Pipe = new Pipe { Path = path } };
        }
        if (url.StartsWith("udp://", StringComparison.OrdinalIgnoreCase))
        {
            var (host, port) = SplitHostPort(setting, url["udp://".Length..].TrimEnd('/'));
            return SocketAddress(host, port);
        }
        var scheme = url.IndexOf("://", StringComparison.Ordinal) is > 0 and var i ? url[..i] : "";
        throw new BootstrapException(setting, $"unsupported address protocol \"{scheme}\" in \"{url}\" (expected udp://<ip>:<port> or unix:///<path>)");
    }

    private static Duration FlushInterval(string text)
    {
        if (!GoDuration.TryParse(text, out var value) || value <= TimeSpan.Zero)
            throw new BootstrapException("envoy_stats_flush_interval", $"\"{text}\" is not a positive duration (e.g. 10s)");
        return Duration.FromTimeSpan(value);
    }

    private static EnvoyBootstrap.Types.DynamicResources Dynamic(BootstrapInput input)
    {
        // Waiting for the first LDS/CDS answer forever (0s) rather than Envoy's 15 s default: a proxy whose agent is
        // slow to answer should not start serving with no configuration.
        ConfigSource Ads() => new()
        {
            Ads = new AggregatedConfigSource(),
            InitialFetchTimeout = Duration.FromTimeSpan(TimeSpan.Zero),
            ResourceApiVersion = ApiVersion.V3,
        };
        var grpc = new GrpcService { EnvoyGrpc = new GrpcService.Types.EnvoyGrpc { ClusterName = LocalAgentClusterName } };
        if (!string.IsNullOrEmpty(input.Token)) grpc.InitialMetadata.Add(new HeaderValue { Key = TokenMetadataKey, Value = input.Token });
        var ads = new ApiConfigSource
        {
            ApiType = ApiConfigSource.Types.ApiType.DeltaGrpc,
            TransportApiVersion = ApiVersion.V3,
            GrpcServices = { grpc },
        };
        return new EnvoyBootstrap.Types.DynamicResources { LdsConfig = Ads(), CdsConfig = Ads(), AdsConfig = ads };
    }

    private static ClusterLoadAssignment Endpoints(string clusterName, Address address)
    {
        var locality = new LocalityLbEndpoints();
        locality.LbEndpoints.Add(new LbEndpoint { Endpoint = new Endpoint { Address = address } });
        return new ClusterLoadAssignment { ClusterName = clusterName, Endpoints = { locality } };
    }

    private static Address SocketAddress(string ip, int port) =>
        new() { SocketAddress = new SocketAddress { Address = ip, PortValue = (uint)port } };

    private static void RejectDuplicateListeners(EnvoyBootstrap.Types.StaticResources statics)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var l in statics.Listeners)
            if (!seen.Add(l.Name))
                throw new BootstrapException("envoy_extra_static_listeners_json", $"listener name \"{l.Name}\" is used twice (Envoy refuses duplicate listeners)");
    }

    /// <summary>Splits <c>ip:port</c> (<c>[v6]:port</c> for IPv6), requiring an IP literal and a port in 1-65535.</summary>
    private static (string Host, int Port) SplitHostPort(string setting, string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0) throw new BootstrapException(setting, $"\"{value}\" must be <ip>:<port>");
        var host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        else if (host.Contains(':')) throw new BootstrapException(setting, $"\"{value}\" must put an IPv6 address in brackets: [<ip>]:<port>");
        if (!IPAddress.TryParse(host, out _)) throw new BootstrapException(setting, $"\"{value}\" must be <ip>:<port> with an IP address, not a host name");
        if (!int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new BootstrapException(setting, $"\"{value}\" has no valid port (1-65535)");
        return (host, port);
    }

    private static void RequireIp(string what, string value)
    {
        if (!IPAddress.TryParse(value, out _)) throw new BootstrapException(what, $"\"{value}\" is not an IP address");
    }

    private static void RequirePort(string what, int port)
    {
        if (port is < 1 or > 65535) throw new BootstrapException(what, $"{port.ToString(CultureInfo.InvariantCulture)} is not a port (1-65535)");
    }
}
