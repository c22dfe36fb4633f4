using System.Collections.Immutable;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using AggregateClusterConfig = Envoy.Extensions.Clusters.Aggregate.V3.ClusterConfig;
using HttpProtocolOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace Mesh.Sidecar.Config;

internal sealed partial class XdsTranslator
{
    /// <summary>The <c>typed_extension_protocol_options</c> key of upstream HTTP settings.</summary>
    private const string HttpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /// <summary>The custom cluster type of Envoy's aggregate (failover) cluster.</summary>
    private const string AggregateClusterType = "envoy.clusters.aggregate";

    /// <summary>Envoy's circuit breaker default for connections, pending requests and requests.</summary>
    private const int DefaultCircuitBreakerLimit = 1024;

    /// <summary>
    /// A cluster: STATIC (endpoints inline), EDS (by service name) or aggregate (children in failover order), with its
    /// connect timeout, load balancer, mTLS to the endpoints, upstream HTTP version, limits and outlier detection.
    /// </summary>
    private static ClusterConfig TranslateCluster(Cluster cluster)
    {
        var kind = ClusterKind.Static;
        string? edsName = null;
        var statics = ImmutableArray<EndpointConfig>.Empty;
        var children = ImmutableArray<string>.Empty;
        switch (cluster.ClusterDiscoveryTypeCase)
        {
            case Cluster.ClusterDiscoveryTypeOneofCase.ClusterType:
                if (cluster.ClusterType.Name != AggregateClusterType)
                    throw Fail("cluster_type", $"custom cluster type \"{cluster.ClusterType.Name}\" is not supported");
                kind = ClusterKind.Aggregate;
                var aggregate = UnpackTyped<AggregateClusterConfig>(cluster.ClusterType.TypedConfig, AggregateClusterConfig.Descriptor, "cluster_type", AggregateClusterType);
                if (aggregate.Clusters.Count == 0) throw Fail("cluster_type", "the aggregate cluster has no child cluster");
                if (aggregate.Clusters.Any(c => c.Length == 0)) throw Fail("cluster_type", "a child cluster name is empty");
                if (aggregate.Clusters.Contains(cluster.Name)) throw Fail("cluster_type", "the aggregate cluster names itself");
                children = Strings(aggregate.Clusters);
                break;
            case Cluster.ClusterDiscoveryTypeOneofCase.Type or Cluster.ClusterDiscoveryTypeOneofCase.None:
                switch (cluster.Type)
                {
                    case Cluster.Types.DiscoveryType.Static:
                        statics = cluster.LoadAssignment is { } assignment ? Endpoints(assignment, "load_assignment") : [];
                        break;
                    case Cluster.Types.DiscoveryType.Eds:
                        kind = ClusterKind.Eds;
                        var eds = cluster.EdsClusterConfig;
                        CheckAds(eds?.EdsConfig, "eds_cluster_config", "eds_config");
                        edsName = eds is { ServiceName.Length: > 0 } ? eds.ServiceName : cluster.Name;
                        break;
                    case Cluster.Types.DiscoveryType.StrictDns or Cluster.Types.DiscoveryType.LogicalDns:
                        throw Fail("type", "DNS clusters are not supported");
                    default:
                        throw Fail("type", $"{Snake(cluster.Type.ToString()).ToUpperInvariant()} clusters are not supported");
                }
                break;
        }

        var connectTimeout = Time(cluster.ConnectTimeout, "", "connect_timeout") ?? DefaultConnectTimeout;
        if (connectTimeout <= TimeSpan.Zero) throw Fail("", "connect_timeout must be positive");
        var (lb, choices) = LoadBalancer(cluster, kind);
        var tls = cluster.TransportSocket is { } socket ? UpstreamTls(socket, "transport_socket") : null;
        if (cluster.TransportSocketMatches.Count > 0) throw Fail("transport_socket_matches", "is not supported");
        var protocol = Protocol(cluster);
        var breakers = CircuitBreakers(cluster.CircuitBreakers);
        var outlier = cluster.OutlierDetection is { } detection ? Outlier(detection) : null;
        return new ClusterConfig(cluster.Name, kind, connectTimeout, lb, choices, tls, protocol, edsName, statics, children, breakers, outlier);
    }

    private static (LbPolicy Policy, int ChoiceCount) LoadBalancer(Cluster cluster, ClusterKind kind)
    {
        if (cluster.LoadBalancingPolicy is not null) throw Fail("load_balancing_policy", "is not supported (use lb_policy)");
        var choices = 2;
        if (cluster.LeastRequestLbConfig?.ChoiceCount is { } count)
        {
            if (count < 2) throw Fail("least_request_lb_config", $"choice_count {count} is below 2");
            choices = (int)Math.Min(count, 100);
        }
        var policy = cluster.LbPolicy switch
        {
            Cluster.Types.LbPolicy.RoundRobin => LbPolicy.RoundRobin,
            Cluster.Types.LbPolicy.LeastRequest => LbPolicy.LeastRequest,
            Cluster.Types.LbPolicy.Random => LbPolicy.Random,
            Cluster.Types.LbPolicy.RingHash => LbPolicy.RingHash,
            Cluster.Types.LbPolicy.Maglev => LbPolicy.Maglev,
            // The aggregate cluster picks a child and the child balances: the aggregate's own policy plays no part.
            Cluster.Types.LbPolicy.ClusterProvided when kind == ClusterKind.Aggregate => LbPolicy.RoundRobin,
            Cluster.Types.LbPolicy.ClusterProvided => throw Fail("lb_policy", "CLUSTER_PROVIDED is only for aggregate clusters"),
            _ => throw Fail("lb_policy", $"{Snake(cluster.LbPolicy.ToString()).ToUpperInvariant()} is not supported"),
        };
        return (policy, choices);
    }

    /// <summary>
    /// HTTP/2 when the upstream HTTP protocol options say so explicitly (or by the deprecated
    /// <c>http2_protocol_options</c> field); HTTP/1.1 otherwise.
    /// </summary>
    private static UpstreamProtocol Protocol(Cluster cluster)
    {
#pragma warning disable CS0612 // The deprecated cluster-level field still means HTTP/2 to Envoy.
        var protocol = cluster.Http2ProtocolOptions is not null ? UpstreamProtocol.Http2 : UpstreamProtocol.Http1;
#pragma warning restore CS0612
        foreach (var (key, any) in cluster.TypedExtensionProtocolOptions)
        {
            var path = $"typed_extension_protocol_options \"{key}\"";
            if (key != HttpProtocolOptionsKey && !any.Is(HttpProtocolOptions.Descriptor)) throw Fail(path, "is not supported");
            var options = UnpackTyped<HttpProtocolOptions>(any, HttpProtocolOptions.Descriptor, path, "protocol options");
            switch (options.UpstreamProtocolOptionsCase)
            {
                case HttpProtocolOptions.UpstreamProtocolOptionsOneofCase.ExplicitHttpConfig:
                    protocol = options.ExplicitHttpConfig.ProtocolConfigCase switch
                    {
                        HttpProtocolOptions.Types.ExplicitHttpConfig.ProtocolConfigOneofCase.Http2ProtocolOptions => UpstreamProtocol.Http2,
                        HttpProtocolOptions.Types.ExplicitHttpConfig.ProtocolConfigOneofCase.HttpProtocolOptions => UpstreamProtocol.Http1,
                        HttpProtocolOptions.Types.ExplicitHttpConfig.ProtocolConfigOneofCase.Http3ProtocolOptions => throw Fail(path, "HTTP/3 is not supported"),
                        _ => throw Fail(path, "explicit_http_config names no protocol"),
                    };
                    break;
                case HttpProtocolOptions.UpstreamProtocolOptionsOneofCase.None:
                    break;
                default:
                    throw Fail(path, $"{Snake(options.UpstreamProtocolOptionsCase.ToString())} is not supported (use explicit_http_config)");
            }
        }
        return protocol;
    }

    /// <summary>The default-priority thresholds, with Envoy's defaults for what is unset; null when there are none.</summary>
    private static CircuitBreakerConfig? CircuitBreakers(CircuitBreakers? breakers)
    {
        if (breakers is null) return null;
        foreach (var thresholds in breakers.Thresholds)
        {
            if (thresholds.Priority != RoutingPriority.Default) continue;
            return new CircuitBreakerConfig(Limit(thresholds.MaxConnections), Limit(thresholds.MaxPendingRequests), Limit(thresholds.MaxRequests));
        }
        return null;

        static int Limit(uint? value) => value is { } v ? (int)Math.Min(v, int.MaxValue) : DefaultCircuitBreakerLimit;
    }

    /// <summary>Outlier detection on consecutive 5xx, with Envoy's defaults (5, 10 s, 30 s, 10 %).</summary>
    private static OutlierDetectionConfig Outlier(OutlierDetection detection)
    {
        const string path = "outlier_detection";
        var consecutive = detection.Consecutive5Xx ?? 5;
        var interval = Time(detection.Interval, path, "interval") ?? TimeSpan.FromSeconds(10);
        var ejection = Time(detection.BaseEjectionTime, path, "base_ejection_time") ?? TimeSpan.FromSeconds(30);
        var percent = detection.MaxEjectionPercent ?? 10;
        if (interval <= TimeSpan.Zero) throw Fail(path, "interval must be positive");
        if (ejection <= TimeSpan.Zero) throw Fail(path, "base_ejection_time must be positive");
        if (percent > 100) throw Fail(path, $"max_ejection_percent {percent} is above 100");
        return new OutlierDetectionConfig((int)Math.Min(consecutive, int.MaxValue), interval, ejection, (int)percent);
    }

    /// <summary>
    /// The client side of mesh mTLS: the leaf by SDS, the SNI, the trust bundle by SDS (alone or in a combined
    /// validation context) and the SPIFFE IDs the peer may present.
    /// </summary>
    private static UpstreamTlsConfig UpstreamTls(TransportSocket socket, string path)
    {
        var context = UnpackTyped<UpstreamTlsContext>(socket.TypedConfig, UpstreamTlsContext.Descriptor, path, $"transport socket \"{socket.Name}\"");
        if (context.CommonTlsContext is not { } common) throw Fail(path, "common_tls_context is missing");
        var certificate = CertificateSds(common, path);
        string? validation = null;
        var sans = ImmutableArray<string>.Empty;
        switch (common.ValidationContextTypeCase)
        {
            case CommonTlsContext.ValidationContextTypeOneofCase.None:
                // Envoy would connect without verifying the peer; a mesh proxy never does.
                throw Fail(path, "no validation context: the peer certificate could not be verified");
            case CommonTlsContext.ValidationContextTypeOneofCase.ValidationContextSdsSecretConfig:
                validation = SdsName(common.ValidationContextSdsSecretConfig, At(path, "validation_context_sds_secret_config"));
                break;
            case CommonTlsContext.ValidationContextTypeOneofCase.CombinedValidationContext:
                var combined = common.CombinedValidationContext;
                var combinedPath = At(path, "combined_validation_context");
                if (combined.ValidationContextSdsSecretConfig is null) throw Fail(combinedPath, "validation_context_sds_secret_config is missing");
                validation = SdsName(combined.ValidationContextSdsSecretConfig, At(combinedPath, "validation_context_sds_secret_config"));
                if (combined.DefaultValidationContext is { } defaults) sans = ExpectedSans(defaults, At(combinedPath, "default_validation_context"));
                break;
            case CommonTlsContext.ValidationContextTypeOneofCase.ValidationContext:
                // SAN checks without a trust bundle would accept any self-signed certificate naming the right SAN.
                throw Fail(At(path, "validation_context"), "an inline validation context has no trust bundle; the trust must come from SDS (validation_context_sds_secret_config or combined_validation_context)");
            default:
                throw Fail(path, $"{Snake(common.ValidationContextTypeCase.ToString())} is not supported");
        }
        var sni = context.Sni.Length > 0 ? context.Sni : null;
        return new UpstreamTlsConfig(certificate, validation, sni, sans, Strings(common.AlpnProtocols), Protocols(common.TlsParams, path));
    }

    /// <summary>
    /// The URI SANs a peer must present: exact URI matchers of <c>match_typed_subject_alt_names</c>, and exact matchers
    /// of the deprecated <c>match_subject_alt_names</c> (which Mesh's peers satisfy with their SPIFFE URI).
    /// </summary>
    private static ImmutableArray<string> ExpectedSans(CertificateValidationContext context, string path)
    {
        if (context.TrustedCa is not null) throw Fail(path, "trusted_ca must come from SDS");
        if (context.VerifyCertificateSpki.Count > 0) throw Fail(path, "verify_certificate_spki is not supported");
        if (context.VerifyCertificateHash.Count > 0) throw Fail(path, "verify_certificate_hash is not supported");
        if (context.Crl is not null) throw Fail(path, "crl is not supported");
        if (context.AllowExpiredCertificate) throw Fail(path, "allow_expired_certificate is not supported");
        if (context.TrustChainVerification != CertificateValidationContext.Types.TrustChainVerification.VerifyTrustChain)
            throw Fail(path, "trust_chain_verification ACCEPT_UNTRUSTED is not supported");
        var sans = new List<string>();
        foreach (var matcher in context.MatchTypedSubjectAltNames)
        {
            if (matcher.SanType != SubjectAltNameMatcher.Types.SanType.Uri)
                throw Fail(path, $"match_typed_subject_alt_names: SAN type {matcher.SanType.ToString().ToUpperInvariant()} is not supported (URI)");
            sans.Add(ExactSan(matcher.Matcher, At(path, "match_typed_subject_alt_names")));
        }
#pragma warning disable CS0612 // The deprecated field is still what older control planes write.
        foreach (var matcher in context.MatchSubjectAltNames) sans.Add(ExactSan(matcher, At(path, "match_subject_alt_names")));
#pragma warning restore CS0612
        return ToArray(sans);
    }

    private static string ExactSan(StringMatcher? matcher, string path)
    {
        if (matcher is not { MatchPatternCase: Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.Exact } || matcher.Exact.Length == 0)
            throw Fail(path, "only a non-empty exact matcher is supported");
        if (matcher.IgnoreCase) throw Fail(path, "ignore_case is not supported");
        return matcher.Exact;
    }

    private static ClusterLoadAssignmentConfig TranslateAssignment(ClusterLoadAssignment assignment)
    {
        if (assignment.Policy is { DropOverloads.Count: > 0 }) throw Fail("policy", "drop_overloads is not supported");
        return new ClusterLoadAssignmentConfig(assignment.ClusterName, Endpoints(assignment, ""));
    }

    /// <summary>Every endpoint of an assignment with its health, weight (1 when unset) and its locality's priority.</summary>
    private static ImmutableArray<EndpointConfig> Endpoints(ClusterLoadAssignment assignment, string path)
    {
        var endpoints = new List<EndpointConfig>();
        for (var l = 0; l < assignment.Endpoints.Count; l++)
        {
            var locality = assignment.Endpoints[l];
            var localityPath = At(path, $"locality {l}");
            if (locality.LbConfigCase != LocalityLbEndpoints.LbConfigOneofCase.None) throw Fail(localityPath, "lb_config is not supported");
            var priority = (int)Math.Min(locality.Priority, 128);
            for (var e = 0; e < locality.LbEndpoints.Count; e++)
            {
                var lbEndpoint = locality.LbEndpoints[e];
                var endpointPath = At(localityPath, $"endpoint {e}");
                if (lbEndpoint.HostIdentifierCase != LbEndpoint.HostIdentifierOneofCase.Endpoint)
                    throw Fail(endpointPath, lbEndpoint.HostIdentifierCase == LbEndpoint.HostIdentifierOneofCase.EndpointName ? "endpoint_name is not supported" : "endpoint is missing");
                var address = SocketAddress(lbEndpoint.Endpoint.Address, endpointPath, allowPortZero: false);
                var weight = lbEndpoint.LoadBalancingWeight ?? 1;
                if (weight == 0) throw Fail(endpointPath, "load_balancing_weight must be at least 1");
                var health = lbEndpoint.HealthStatus switch
                {
                    HealthStatus.Healthy => EndpointHealth.Healthy,
                    HealthStatus.Unhealthy => EndpointHealth.Unhealthy,
                    HealthStatus.Draining => EndpointHealth.Draining,
                    HealthStatus.Timeout => EndpointHealth.Timeout,
                    HealthStatus.Degraded => EndpointHealth.Degraded,
                    _ => EndpointHealth.Unknown,
                };
                endpoints.Add(new EndpointConfig(address, health, (int)Math.Min(weight, int.MaxValue), priority));
            }
        }
        return ToArray(endpoints);
    }
}
