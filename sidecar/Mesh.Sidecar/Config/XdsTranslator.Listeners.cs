using System.Collections.Immutable;
using Envoy.Config.Listener.V3;
using Envoy.Config.Trace.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf.WellKnownTypes;
using CoreTrafficDirection = Envoy.Config.Core.V3.TrafficDirection;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;
using NetworkRbac = Envoy.Extensions.Filters.Network.Rbac.V3.RBAC;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;
using TlsInspector = Envoy.Extensions.Filters.Listener.TlsInspector.V3.TlsInspector;

namespace Mesh.Sidecar.Config;

internal sealed partial class XdsTranslator
{
    private static readonly string NetworkRbacType = NetworkRbac.Descriptor.FullName;
    private static readonly string TcpProxyType = TcpProxy.Descriptor.FullName;
    private static readonly string HcmType = HttpConnectionManager.Descriptor.FullName;
    private static readonly string HttpRbacType = HttpRbac.Descriptor.FullName;
    private static readonly string RouterType = Router.Descriptor.FullName;

    /// <summary>
    /// A listener: a socket address, a direction, and the one filter chain Mesh emits (optional TLS, optional network
    /// RBAC, then a TCP proxy or an HTTP connection manager).
    /// </summary>
    private static ListenerConfig TranslateListener(Listener listener)
    {
        if (listener.ApiListener is not null) throw Fail("api_listener", "API listeners are for proxyless gRPC clients, not the sidecar");
        var address = SocketAddress(listener.Address, "", allowPortZero: true);
        if (listener.AdditionalAddresses.Count > 0) throw Fail("additional_addresses", "is not supported");
        if (listener.UseOriginalDst is true) throw Fail("use_original_dst", "is not supported");
        if (listener.DefaultFilterChain is not null) throw Fail("default_filter_chain", "is not supported");
        if (listener.FilterChainMatcher is not null) throw Fail("filter_chain_matcher", "is not supported");
        for (var i = 0; i < listener.ListenerFilters.Count; i++)
        {
            // The TLS inspector only reads SNI and ALPN for chain matching; with one chain it changes nothing.
            var filter = listener.ListenerFilters[i];
            if (!(filter.TypedConfig is { } config && config.Is(TlsInspector.Descriptor)))
                throw Fail($"listener filter {i}", $"listener filter \"{DisplayName(filter.Name, filter.TypedConfig)}\" is not supported");
        }
        var direction = listener.TrafficDirection switch
        {
            CoreTrafficDirection.Inbound => TrafficDirection.Inbound,
            CoreTrafficDirection.Outbound => TrafficDirection.Outbound,
            _ => throw Fail("traffic_direction", "must be INBOUND or OUTBOUND"),
        };
        if (listener.FilterChains.Count == 0) throw Fail("filter_chains", "the listener has no filter chain");
        if (listener.FilterChains.Count > 1) throw Fail("filter_chains", $"{listener.FilterChains.Count} filter chains; exactly one is supported");

        var chain = listener.FilterChains[0];
        const string chainPath = "filter chain 0";
        if (chain.FilterChainMatch is not null) throw Fail(chainPath, "filter_chain_match is not supported");
        var tls = chain.TransportSocket is { } socket ? DownstreamTls(socket, At(chainPath, "transport_socket")) : null;
        var (rbac, app) = NetworkFilters(chain, chainPath);
        return new ListenerConfig(listener.Name, address, direction, tls, rbac, app);
    }

    /// <summary>A filter's name for messages: its name, else its typed config's type.</summary>
    private static string DisplayName(string name, Any? config) => name.Length > 0 ? name : TypeName(config);

    /// <summary>The chain's filters: an optional network RBAC filter, then exactly one terminal filter.</summary>
    private static (RbacConfig? Rbac, ListenerApp App) NetworkFilters(FilterChain chain, string path)
    {
        RbacConfig? rbac = null;
        var sawRbac = false;
        ListenerApp? app = null;
        for (var i = 0; i < chain.Filters.Count; i++)
        {
            var filter = chain.Filters[i];
            var name = DisplayName(filter.Name, filter.TypedConfig);
            if (filter.ConfigTypeCase == Filter.ConfigTypeOneofCase.ConfigDiscovery)
                throw Fail(path, $"filter \"{name}\": config_discovery is not supported");
            if (app is not null) throw Fail(path, $"filter \"{name}\" comes after the terminal filter");
            var type = TypeName(filter.TypedConfig);
            var filterPath = At(path, $"filter \"{name}\"");
            if (type == NetworkRbacType)
            {
                if (sawRbac || i != 0) throw Fail(path, $"filter \"{name}\": the network RBAC filter must come first, once");
                sawRbac = true;
                rbac = NetworkRbacConfig(UnpackTyped<NetworkRbac>(filter.TypedConfig, NetworkRbac.Descriptor, path, $"filter \"{name}\""), filterPath);
            }
            else if (type == TcpProxyType)
            {
                app = TcpProxyConfig(UnpackTyped<TcpProxy>(filter.TypedConfig, TcpProxy.Descriptor, path, $"filter \"{name}\""), filterPath);
            }
            else if (type == HcmType)
            {
                app = HttpConnectionManagerConfig(UnpackTyped<HttpConnectionManager>(filter.TypedConfig, HttpConnectionManager.Descriptor, path, $"filter \"{name}\""), filterPath);
            }
            else
            {
                throw Fail(path, $"filter \"{name}\" is not supported");
            }
        }
        if (app is null) throw Fail(path, "the chain has no terminal filter (envoy.filters.network.tcp_proxy or envoy.filters.network.http_connection_manager)");
        return (rbac, app);
    }

    private static TcpProxyConfig TcpProxyConfig(TcpProxy proxy, string path)
    {
        if (proxy.TunnelingConfig is not null) throw Fail(path, "tunneling_config is not supported");
        if (proxy.OnDemand is not null) throw Fail(path, "on_demand is not supported");
        var idle = Time(proxy.IdleTimeout, path, "idle_timeout");
        return proxy.ClusterSpecifierCase switch
        {
            TcpProxy.ClusterSpecifierOneofCase.Cluster when proxy.Cluster.Length > 0 => new TcpProxyConfig(proxy.StatPrefix, proxy.Cluster, null, idle),
            TcpProxy.ClusterSpecifierOneofCase.WeightedClusters => new TcpProxyConfig(proxy.StatPrefix, null, TcpWeighted(proxy.WeightedClusters, At(path, "weighted_clusters")), idle),
            _ => throw Fail(path, "cluster or weighted_clusters is required"),
        };
    }

    private static WeightedClusterSet TcpWeighted(TcpProxy.Types.WeightedCluster weighted, string path)
    {
        var clusters = new List<WeightedClusterConfig>(weighted.Clusters.Count);
        long total = 0;
        for (var i = 0; i < weighted.Clusters.Count; i++)
        {
            var cluster = weighted.Clusters[i];
            if (cluster.Name.Length == 0) throw Fail(path, $"cluster {i}: the name is empty");
            if (cluster.MetadataMatch is not null) throw Fail(path, $"cluster \"{cluster.Name}\": metadata_match is not supported");
            total += cluster.Weight;
            clusters.Add(new WeightedClusterConfig(cluster.Name, (int)Math.Min(cluster.Weight, int.MaxValue), HeaderMutation.None, HeaderMutation.None));
        }
        return WeightedSet(clusters, total, path);
    }

    /// <summary>A weighted set whose total must be positive and fit an <see cref="int"/>.</summary>
    private static WeightedClusterSet WeightedSet(List<WeightedClusterConfig> clusters, long total, string path)
    {
        if (clusters.Count == 0) throw Fail(path, "clusters is empty");
        if (total <= 0) throw Fail(path, "the weights add up to zero");
        if (total > int.MaxValue) throw Fail(path, "the weights add up to more than 2147483647");
        return new WeightedClusterSet(ToArray(clusters), (int)total);
    }

    /// <summary>
    /// The HTTP connection manager: codec, routes (inline or RDS over ADS), HTTP filters (an optional RBAC filter,
    /// then the router last), tracing and client certificate forwarding.
    /// </summary>
    private static HttpConnectionManagerConfig HttpConnectionManagerConfig(HttpConnectionManager hcm, string path)
    {
        var codec = hcm.CodecType switch
        {
            HttpConnectionManager.Types.CodecType.Auto => HttpCodec.Auto,
            HttpConnectionManager.Types.CodecType.Http1 => HttpCodec.Http1,
            HttpConnectionManager.Types.CodecType.Http2 => HttpCodec.Http2,
            _ => throw Fail(path, $"codec_type {hcm.CodecType.ToString().ToUpperInvariant()} is not supported"),
        };

        RouteTableConfig? inline = null;
        string? rds = null;
        switch (hcm.RouteSpecifierCase)
        {
            case HttpConnectionManager.RouteSpecifierOneofCase.RouteConfig:
                inline = RouteTable(hcm.RouteConfig, At(path, "route_config"));
                break;
            case HttpConnectionManager.RouteSpecifierOneofCase.Rds:
                if (hcm.Rds.RouteConfigName.Length == 0) throw Fail(At(path, "rds"), "route_config_name is empty");
                CheckAds(hcm.Rds.ConfigSource, At(path, "rds"), "config_source");
                rds = hcm.Rds.RouteConfigName;
                break;
            case HttpConnectionManager.RouteSpecifierOneofCase.ScopedRoutes:
                throw Fail(path, "scoped_routes is not supported");
            default:
                throw Fail(path, "route_config or rds is required");
        }

        var rbac = HttpFiltersConfig(hcm, path);
        var tracing = hcm.Tracing is { } t ? Tracing(t, At(path, "tracing")) : null;
        // Mesh asks for APPEND_FORWARD. SANITIZE_SET would have to drop what the client sent, and ALWAYS_FORWARD_ONLY
        // to pass it on unchecked; the proxy implements neither, so they are refused rather than run as append.
        var forward = hcm.ForwardClientCertDetails switch
        {
            HttpConnectionManager.Types.ForwardClientCertDetails.AppendForward => true,
            HttpConnectionManager.Types.ForwardClientCertDetails.Sanitize => false,
            var other => throw Fail(At(path, "forward_client_cert_details"), $"{Snake(other.ToString()).ToUpperInvariant()} is not supported (APPEND_FORWARD and SANITIZE are)"),
        };
        return new HttpConnectionManagerConfig(hcm.StatPrefix, codec, inline, rds, rbac, tracing, forward);
    }

    /// <summary>
    /// The HTTP filters: <c>envoy.filters.http.rbac</c> (optional, before the router) and
    /// <c>envoy.filters.http.router</c> (required, last). A disabled filter is skipped, as is an unknown one marked
    /// <c>is_optional</c> (Envoy's meaning of the flag); any other filter is an error naming it.
    /// </summary>
    private static RbacConfig? HttpFiltersConfig(HttpConnectionManager hcm, string path)
    {
        RbacConfig? rbac = null;
        var sawRbac = false;
        var sawRouter = false;
        for (var i = 0; i < hcm.HttpFilters.Count; i++)
        {
            var filter = hcm.HttpFilters[i];
            var name = DisplayName(filter.Name, filter.TypedConfig);
            if (sawRouter) throw Fail(path, $"http filter \"{name}\" comes after the router, which must be last");
            if (filter.ConfigTypeCase == HttpFilter.ConfigTypeOneofCase.ConfigDiscovery)
                throw Fail(path, $"http filter \"{name}\": config_discovery is not supported");
            var type = TypeName(filter.TypedConfig);
            if (type == RouterType)
            {
                sawRouter = true;
            }
            else if (type == HttpRbacType)
            {
                if (sawRbac) throw Fail(path, $"http filter \"{name}\": more than one RBAC filter");
                sawRbac = true;
                if (filter.Disabled) continue;
                rbac = HttpRbacConfig(UnpackTyped<HttpRbac>(filter.TypedConfig, HttpRbac.Descriptor, path, $"http filter \"{name}\""), At(path, $"http filter \"{name}\""));
            }
            else if (!filter.IsOptional && !filter.Disabled)
            {
                throw Fail(path, $"http filter \"{name}\" is not supported");
            }
        }
        if (!sawRouter) throw Fail(path, "http_filters must end with envoy.filters.http.router");
        return rbac;
    }

    /// <summary>
    /// Tracing: the random sampling percentage (100 when unset, Envoy's default) and the service name of an
    /// OpenTelemetry provider; a provider whose config cannot be read is an error.
    /// </summary>
    private static TracingConfig Tracing(HttpConnectionManager.Types.Tracing tracing, string path)
    {
        var percent = tracing.RandomSampling is { } sampling ? sampling.Value : 100d;
        if (double.IsNaN(percent) || percent < 0 || percent > 100) throw Fail(path, $"random_sampling {percent} is not between 0 and 100");
        string? service = null;
        if (tracing.Provider is { TypedConfig: { } config } provider)
        {
            if (config.Is(OpenTelemetryConfig.Descriptor))
            {
                var otel = UnpackTyped<OpenTelemetryConfig>(config, OpenTelemetryConfig.Descriptor, path, $"provider \"{provider.Name}\"");
                if (otel.ServiceName.Length > 0) service = otel.ServiceName;
            }
            else if (!config.Is(ZipkinConfig.Descriptor))
            {
                throw Fail(path, $"provider \"{provider.Name}\": typed_config \"{config.TypeUrl}\" is not supported (zipkin or opentelemetry)");
            }
        }
        return new TracingConfig(percent, service);
    }

    /// <summary>
    /// The public listener's TLS: the serving certificate and the trust bundle by SDS, whether a client certificate is
    /// required, ALPN and the protocol versions. Inline certificates are refused: Mesh streams them as secrets so a
    /// rotation does not rebuild the listener.
    /// </summary>
    private static DownstreamTlsConfig DownstreamTls(Envoy.Config.Core.V3.TransportSocket socket, string path)
    {
        var context = UnpackTyped<DownstreamTlsContext>(socket.TypedConfig, DownstreamTlsContext.Descriptor, path, $"transport socket \"{socket.Name}\"");
        if (context.CommonTlsContext is not { } common) throw Fail(path, "common_tls_context is missing");
        if (context.RequireSni is true) throw Fail(path, "require_sni is not supported");
        if (context.SessionTicketKeysTypeCase != DownstreamTlsContext.SessionTicketKeysTypeOneofCase.None) throw Fail(path, "session ticket keys are not supported");
        var certificate = CertificateSds(common, path);
        string? validation = null;
        switch (common.ValidationContextTypeCase)
        {
            case CommonTlsContext.ValidationContextTypeOneofCase.None:
                break;
            case CommonTlsContext.ValidationContextTypeOneofCase.ValidationContextSdsSecretConfig:
                validation = SdsName(common.ValidationContextSdsSecretConfig, At(path, "validation_context_sds_secret_config"));
                break;
            case CommonTlsContext.ValidationContextTypeOneofCase.ValidationContext:
                throw Fail(path, "validation_context: the trusted CA must come from SDS");
            default:
                throw Fail(path, $"{Snake(common.ValidationContextTypeCase.ToString())} is not supported");
        }
        var require = context.RequireClientCertificate ?? false;
        if (require && validation is null) throw Fail(path, "require_client_certificate needs a validation context");
        return new DownstreamTlsConfig(certificate, validation, require, [.. common.AlpnProtocols], Protocols(common.TlsParams, path));
    }

    /// <summary>The one certificate of a TLS context, by SDS name.</summary>
    private static string CertificateSds(CommonTlsContext common, string path)
    {
        if (common.TlsCertificates.Count > 0) throw Fail(path, "tls_certificates: the certificate must come from SDS");
        if (common.TlsCertificateProviderInstance is not null) throw Fail(path, "tls_certificate_provider_instance is not supported");
        if (common.TlsCertificateSdsSecretConfigs.Count != 1)
            throw Fail(path, $"tls_certificate_sds_secret_configs: exactly one certificate is supported, not {common.TlsCertificateSdsSecretConfigs.Count}");
        return SdsName(common.TlsCertificateSdsSecretConfigs[0], At(path, "tls_certificate_sds_secret_configs"));
    }

    private static ImmutableArray<string> Strings(IEnumerable<string> values) => [.. values];
}
