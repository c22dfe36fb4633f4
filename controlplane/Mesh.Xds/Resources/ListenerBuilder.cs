using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Config.Trace.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Mesh.Connect.DiscoveryChain;
using Mesh.Xds.ProxyCfg;
using TraceConfig = Envoy.Config.Trace.V3.Tracing;

namespace Mesh.Xds.Resources;

/// <summary>
/// The listeners of one snapshot, and what in the snapshot could not be rendered. A problem never stops the rest: the
/// part it concerns is left out (a listener) or left off (tracing), and the caller reports the problem.
/// </summary>
/// <param name="Listeners">The listeners, the public listener first, then one per upstream in the snapshot's order.</param>
/// <param name="Problems">One sentence per problem (which setting or upstream, and why), empty when there is none.</param>
internal sealed record ListenerBuildResult(IReadOnlyList<Listener> Listeners, IReadOnlyList<string> Problems);

/// <summary>
/// Builds the LDS resources of a snapshot, with Consul's names and shapes (<c>agent/xds/listeners.go</c>). A pure
/// function: the same snapshot gives the same listeners.
/// </summary>
/// <remarks>
/// A sidecar gets the public listener <c>public_listener:&lt;addr&gt;:&lt;port&gt;</c> (mTLS with a client certificate
/// required, intentions as RBAC, then the local application) and one listener per upstream
/// <c>&lt;name&gt;:&lt;bind-addr&gt;:&lt;port&gt;</c> (TCP straight to the chain's cluster, HTTP through the route
/// configuration named after the upstream). A proxyless gRPC client gets one API listener per upstream, named after the
/// service (what it dials as <c>xds:///&lt;name&gt;</c>).
/// </remarks>
internal static class ListenerBuilder
{
    /// <summary>The name of the public listener's and local route's target cluster.</summary>
    public const string LocalAppCluster = "local_app";

    /// <summary>The stat prefix (and inline route configuration name) of the public listener.</summary>
    public const string PublicListenerPrefix = "public_listener";

    private static readonly TypeRegistry TracerTypes = TypeRegistry.FromMessages(ZipkinConfig.Descriptor, OpenTelemetryConfig.Descriptor);

    private static readonly JsonParser TracingParser = new(JsonParser.Settings.Default.WithTypeRegistry(TracerTypes));

    /// <summary>Builds every listener of <paramref name="snapshot"/>.</summary>
    public static ListenerBuildResult Build(ConfigSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var listeners = new List<Listener>();
        var problems = new List<string>();
        if (snapshot.Mode == ProxyMode.Proxyless)
        {
            // A gRPC client has no public side and no Envoy tracer: envoy_tracing_json does not concern it.
            foreach (var upstream in snapshot.Upstreams) listeners.Add(ApiListener(upstream.Name));
            return new ListenerBuildResult(listeners, problems);
        }

        var tracing = Tracing(snapshot.Settings.TracingJson, problems);
        if (snapshot.Local is { } local && PublicListener(snapshot, local, tracing, problems) is { } publicListener)
            listeners.Add(publicListener);
        foreach (var upstream in snapshot.Upstreams)
            if (UpstreamListener(snapshot, upstream, tracing, problems) is { } listener)
                listeners.Add(listener);
        return new ListenerBuildResult(listeners, problems);
    }

    private static bool IsHttp2(string protocol) => protocol is "http2" or "grpc";

    private static Listener? PublicListener(ConfigSnapshot snapshot, LocalService local, HttpConnectionManager.Types.Tracing? tracing,
        List<string> problems)
    {
        var address = snapshot.Settings.BindAddress is { Length: > 0 } bind ? bind : local.Address;
        if (address.Length == 0) address = "0.0.0.0";
        var port = snapshot.Settings.BindPort ?? local.Port;
        var name = $"{PublicListenerPrefix}:{address}:{port}";
        if (!ValidPort(port))
        {
            problems.Add($"public listener {name}: port {port} is not between 1 and 65535; the listener is left out");
            return null;
        }

        if (!ValidPort(local.LocalPort))
        {
            // Nothing to forward inbound traffic to: the proxy serves only its upstreams.
            problems.Add($"public listener {name}: the proxy has no local service port; the listener is left out");
            return null;
        }

        var chain = new FilterChain();
        if (ChainEntries.IsHttpLike(local.Protocol))
        {
            var route = new RouteAction { Cluster = LocalAppCluster };
            if (snapshot.Settings.LocalRequestTimeout is { } timeout) route.Timeout = Duration.FromTimeSpan(timeout);
            var hcm = new HttpConnectionManager
            {
                StatPrefix = PublicListenerPrefix,
                CodecType = IsHttp2(local.Protocol) ? HttpConnectionManager.Types.CodecType.Http2 : HttpConnectionManager.Types.CodecType.Auto,
                RouteConfig = new RouteConfiguration
                {
                    Name = PublicListenerPrefix,
                    VirtualHosts =
                    {
                        new VirtualHost
                        {
                            Name = PublicListenerPrefix,
                            Domains = { "*" },
                            Routes = { new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = route } },
                        },
                    },
                },
                HttpFilters = { HttpFilters.Rbac(RbacBuilder.Http(snapshot)), HttpFilters.Router() },
                // The application learns who called from the client certificate, as behind Consul's sidecar.
                ForwardClientCertDetails = HttpConnectionManager.Types.ForwardClientCertDetails.AppendForward,
                SetCurrentClientCertDetails = new HttpConnectionManager.Types.SetCurrentClientCertDetails
                {
                    Subject = true,
                    Cert = true,
                    Chain = true,
                    Dns = true,
                    Uri = true,
                },
                Tracing = tracing?.Clone(),
            };
            if (IsHttp2(local.Protocol)) hcm.Http2ProtocolOptions = new Http2ProtocolOptions();
            chain.Filters.Add(Filter("envoy.filters.network.http_connection_manager", hcm));
        }
        else
        {
            chain.Filters.Add(Filter("envoy.filters.network.rbac", RbacBuilder.Network(snapshot)));
            chain.Filters.Add(Filter("envoy.filters.network.tcp_proxy", new TcpProxy { StatPrefix = PublicListenerPrefix, Cluster = LocalAppCluster }));
        }
        chain.TransportSocket = PublicTransportSocket(local.Protocol);

        return new Listener
        {
            Name = name,
            Address = SocketAddressOf(address, port),
            FilterChains = { chain },
            TrafficDirection = TrafficDirection.Inbound,
        };
    }

    private static Listener? UpstreamListener(ConfigSnapshot snapshot, UpstreamSnapshot upstream, HttpConnectionManager.Types.Tracing? tracing,
        List<string> problems)
    {
        // An upstream without a bind address listens on loopback, and its name says so.
        if (upstream.BindAddress.Length == 0) upstream = upstream with { BindAddress = "127.0.0.1" };
        var name = upstream.ListenerName;
        if (!ValidPort(upstream.BindPort))
        {
            problems.Add($"upstream {upstream.Name}: bind port {upstream.BindPort} is not between 1 and 65535; its listener {name} is left out");
            return null;
        }
        var address = upstream.BindAddress;
        var statPrefix = $"upstream.{upstream.Name}.default.{snapshot.Datacenter}";

        Filter filter;
        if (ChainEntries.IsHttpLike(upstream.Protocol))
        {
            var hcm = new HttpConnectionManager
            {
                StatPrefix = statPrefix,
                CodecType = HttpConnectionManager.Types.CodecType.Auto,
                Rds = Rds(upstream.Name),
                HttpFilters = { HttpFilters.Router() },
                Tracing = tracing?.Clone(),
            };
            if (IsHttp2(upstream.Protocol)) hcm.Http2ProtocolOptions = new Http2ProtocolOptions();
            filter = Filter("envoy.filters.network.http_connection_manager", hcm);
        }
        else
        {
            if (TcpCluster(upstream) is not { } cluster)
            {
                problems.Add($"upstream {upstream.Name}: its tcp chain does not start at a resolver with a known target " +
                    $"(start node '{upstream.Chain.StartNode}'); its listener {name} is left out");
                return null;
            }
            filter = Filter("envoy.filters.network.tcp_proxy", new TcpProxy { StatPrefix = statPrefix, Cluster = cluster });
        }

        return new Listener
        {
            Name = name,
            Address = SocketAddressOf(address, upstream.BindPort),
            FilterChains = { new FilterChain { Filters = { filter } } },
            TrafficDirection = TrafficDirection.Outbound,
        };
    }

    /// <summary>
    /// The cluster a TCP upstream forwards to: the SNI of the target of the chain's resolver. TCP chains hold only
    /// resolvers (no router or splitter can apply to bytes), so the start node is one.
    /// </summary>
    private static string? TcpCluster(UpstreamSnapshot upstream)
    {
        var chain = upstream.Chain;
        if (!chain.Nodes.TryGetValue(chain.StartNode, out var node) || node.Type != "resolver" || node.Resolver is null) return null;
        return chain.Targets.TryGetValue(node.Resolver.Target, out var target) ? target.SNI : null;
    }

    /// <summary>
    /// A proxyless client's listener: an API listener whose connection manager takes its routes from RDS over ADS
    /// (gRPC accepts only <c>ads</c> or <c>self</c> as the source) and ends in the typed router filter.
    /// </summary>
    private static Listener ApiListener(string name) => new()
    {
        Name = name,
        ApiListener = new Envoy.Config.Listener.V3.ApiListener
        {
            ApiListener_ = Any.Pack(new HttpConnectionManager { Rds = Rds(name), HttpFilters = { HttpFilters.Router() } }),
        },
    };

    private static Rds Rds(string routeConfigName) => new() { RouteConfigName = routeConfigName, ConfigSource = Ads() };

    private static ConfigSource Ads() => new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };

    private static Filter Filter(string name, IMessage config) => new() { Name = name, TypedConfig = Any.Pack(config) };

    private static Address SocketAddressOf(string address, int port) =>
        new() { SocketAddress = new SocketAddress { Address = address, PortValue = (uint)port } };

    private static bool ValidPort(int port) => port is > 0 and <= 65535;

    /// <summary>
    /// The connection manager's tracing from <c>envoy_tracing_json</c> (an Envoy bootstrap <c>Tracing</c> object): its
    /// <c>http</c> provider, with every request sampled so a demo traces each call. Null when unset, or when the JSON
    /// cannot be read (then a problem says why).
    /// </summary>
    internal static HttpConnectionManager.Types.Tracing? Tracing(string? json, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        TraceConfig parsed;
        try
        {
            parsed = TracingParser.Parse<TraceConfig>(json);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException or InvalidOperationException)
        {
            problems.Add($"envoy_tracing_json is not a valid Envoy Tracing object ({e.Message}); tracing is left off");
            return null;
        }
        if (parsed.Http is not { } provider || provider.Name.Length == 0)
        {
            problems.Add("envoy_tracing_json has no \"http\" provider with a name; tracing is left off");
            return null;
        }
        return new HttpConnectionManager.Types.Tracing { Provider = provider, RandomSampling = new Envoy.Type.V3.Percent { Value = 100 } };
    }

    /// <summary>
    /// The public listener's TLS: the leaf and the roots by SDS over ADS (secrets <c>leaf</c> and <c>roots</c>), a
    /// client certificate required, and ALPN for the application's protocol.
    /// </summary>
    private static TransportSocket PublicTransportSocket(string protocol) =>
        TlsContexts.Socket(TlsContexts.Downstream(IsHttp2(protocol) ? ["h2"] : ChainEntries.IsHttpLike(protocol) ? ["http/1.1"] : []));
}
