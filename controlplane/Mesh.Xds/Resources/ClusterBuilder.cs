using System.Text.Json;
using System.Text.Json.Nodes;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Connect.DiscoveryChain;
using Mesh.Connect.Entries;
using Mesh.Xds.ProxyCfg;
using AggregateClusterConfig = Envoy.Extensions.Clusters.Aggregate.V3.ClusterConfig;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using HttpProtocolOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace Mesh.Xds.Resources;

/// <summary>
/// What <see cref="ClusterBuilder.Build"/> made: the clusters, and the problems that left something out (an invalid
/// <c>envoy_extra_static_clusters_json</c>, a name clash). A problem never stops the rest of the proxy's configuration;
/// the caller logs <see cref="Errors"/>.
/// </summary>
/// <param name="Clusters">The clusters, in a deterministic order: <c>local_app</c>, the upstreams' in upstream order, the extra ones.</param>
/// <param name="Errors">One line per problem, empty when there was none.</param>
internal sealed record ClusterBuildResult(IReadOnlyList<Cluster> Clusters, IReadOnlyList<string> Errors);

/// <summary>A cluster an upstream's resolver node becomes: one EDS cluster, or an aggregate over several.</summary>
/// <param name="Name">The cluster's name.</param>
/// <param name="Upstream">The upstream the cluster serves.</param>
/// <param name="Resolver">The resolver node the cluster was made for (timeouts, load balancing).</param>
internal abstract record UpstreamClusterPlan(string Name, UpstreamSnapshot Upstream, ChainNode Resolver);

/// <summary>
/// One EDS cluster of a snapshot and the chain target whose endpoints fill it. Shared by <see cref="ClusterBuilder"/>
/// and <see cref="EndpointBuilder"/>, so every EDS cluster has exactly one load assignment of the same name.
/// </summary>
/// <param name="Name">The cluster's name: the target's SNI, or <c>failover-target~i~&lt;primary SNI&gt;</c> behind an aggregate.</param>
/// <param name="Upstream">The upstream the cluster serves.</param>
/// <param name="Resolver">The resolver node the cluster was made for (timeouts, load balancing).</param>
/// <param name="Target">The target whose endpoints, SNI and identity the cluster uses.</param>
internal sealed record EdsClusterPlan(string Name, UpstreamSnapshot Upstream, ChainNode Resolver, ChainTarget Target)
    : UpstreamClusterPlan(Name, Upstream, Resolver);

/// <summary>
/// An aggregate cluster: the resolver's primary target first, then its failover targets, each its own EDS cluster.
/// </summary>
/// <param name="Name">The primary target's SNI: routes and TCP proxies name the resolver by it whether it fails over or not.</param>
/// <param name="Upstream">The upstream the cluster serves.</param>
/// <param name="Resolver">The resolver node.</param>
/// <param name="Children">The EDS clusters in failover order.</param>
internal sealed record AggregateClusterPlan(string Name, UpstreamSnapshot Upstream, ChainNode Resolver, IReadOnlyList<EdsClusterPlan> Children)
    : UpstreamClusterPlan(Name, Upstream, Resolver);

/// <summary>
/// Builds a snapshot's clusters (CDS). A pure function of the snapshot: no I/O, no clock, deterministic order.
/// </summary>
/// <remarks>
/// <para>A sidecar gets <c>local_app</c> (STATIC, to the application), then for each upstream and each resolver node of
/// its chain one EDS cluster named after the target's SNI, with mTLS through SDS (<see cref="TlsContexts.Upstream"/>)
/// that accepts only the target's SPIFFE ID. A resolver with failover targets becomes, as in Consul, an aggregate
/// cluster named after the primary SNI over EDS clusters <c>failover-target~&lt;i&gt;~&lt;primary SNI&gt;</c> (the
/// primary at 0): Envoy moves to the next cluster when one has no healthy endpoint, and each child keeps its own SNI
/// and identity check.</para>
/// <para>A proxyless gRPC client gets the same cluster names without TLS (gRPC cannot read SDS secrets) and with
/// <c>ROUND_ROBIN</c>, the policy gRPC accepts on every cluster type, aggregate ones included.</para>
/// <para>Two upstreams that reach the same target share one cluster (the first upstream's settings win), since Envoy
/// refuses a CDS update that names a cluster twice.</para>
/// </remarks>
internal static class ClusterBuilder
{
    /// <summary>Builds the snapshot's clusters.</summary>
    public static ClusterBuildResult Build(ConfigSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var clusters = new List<Cluster>();
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);

        // A proxy registered without a local service port (an ad-hoc outbound-only proxy) has no local app to reach.
        if (snapshot.Mode == ProxyMode.Sidecar && snapshot.Local is { LocalPort: > 0 and <= 65535 } local)
        {
            clusters.Add(LocalApp(local, snapshot.Settings.LocalConnectTimeout));
            names.Add(Names.LocalAppCluster);
        }

        foreach (var plan in Plan(snapshot))
        {
            switch (plan)
            {
                case EdsClusterPlan eds:
                    clusters.Add(Eds(snapshot, eds));
                    break;
                case AggregateClusterPlan aggregate:
                    clusters.Add(Aggregate(snapshot, aggregate));
                    foreach (var child in aggregate.Children) clusters.Add(Eds(snapshot, child));
                    break;
            }
        }
        foreach (var c in clusters) names.Add(c.Name);

        if (snapshot.Mode == ProxyMode.Sidecar && !string.IsNullOrWhiteSpace(snapshot.Settings.ExtraStaticClustersJson))
        {
            var (extra, parseError) = ExtraClusters.Parse(snapshot.Settings.ExtraStaticClustersJson);
            if (parseError is not null) errors.Add(parseError);
            foreach (var cluster in extra)
            {
                if (!names.Add(cluster.Name))
                {
                    errors.Add($"envoy_extra_static_clusters_json: cluster \"{cluster.Name}\" is already defined; the extra one is left out");
                    continue;
                }
                clusters.Add(cluster.Clone());
            }
        }
        return new ClusterBuildResult(clusters, errors);
    }

    /// <summary>
    /// The upstream clusters of a snapshot, without building them: each resolver node of each upstream's chain, as one
    /// EDS cluster or an aggregate over several; a name already planned (a target two upstreams share) is skipped.
    /// </summary>
    internal static IEnumerable<UpstreamClusterPlan> Plan(ConfigSnapshot snapshot)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var upstream in snapshot.Upstreams)
        {
            var chain = upstream.Chain;
            // Ordered by node name, so the output never depends on how a dictionary hashes.
            foreach (var node in chain.Nodes.OrderBy(n => n.Key, StringComparer.Ordinal).Select(n => n.Value))
            {
                if (node is not { Type: "resolver", Resolver: { } resolver }) continue;
                var primary = Target(upstream, resolver.Target);
                if (!seen.Add(primary.SNI)) continue;
                var failover = (resolver.Failover ?? []).Where(id => id != primary.ID).Distinct(StringComparer.Ordinal)
                    .Select(id => Target(upstream, id)).ToList();
                if (failover.Count == 0)
                {
                    yield return new EdsClusterPlan(primary.SNI, upstream, node, primary);
                    continue;
                }
                var children = new List<EdsClusterPlan>(failover.Count + 1);
                foreach (var target in failover.Prepend(primary))
                {
                    var name = Names.FailoverCluster(children.Count, primary.SNI);
                    seen.Add(name);
                    children.Add(new EdsClusterPlan(name, upstream, node, target));
                }
                yield return new AggregateClusterPlan(primary.SNI, upstream, node, children);
            }
        }
    }

    /// <summary>Every EDS cluster of the snapshot, aggregate children included, in <see cref="Plan"/> order.</summary>
    internal static IEnumerable<EdsClusterPlan> EdsClusters(ConfigSnapshot snapshot)
    {
        foreach (var plan in Plan(snapshot))
        {
            if (plan is EdsClusterPlan eds) yield return eds;
            else if (plan is AggregateClusterPlan aggregate) foreach (var child in aggregate.Children) yield return child;
        }
    }

    private static ChainTarget Target(UpstreamSnapshot upstream, string id) =>
        upstream.Chain.Targets.TryGetValue(id, out var target) ? target
            : throw new InvalidOperationException($"upstream \"{upstream.Name}\": its chain names target \"{id}\" but does not define it");

    /// <summary>The cluster in front of the local application: STATIC, one endpoint.</summary>
    internal static Cluster LocalApp(LocalService local, TimeSpan connectTimeout)
    {
        var cluster = new Cluster
        {
            Name = Names.LocalAppCluster,
            Type = Cluster.Types.DiscoveryType.Static,
            ConnectTimeout = Duration.FromTimeSpan(connectTimeout),
            LoadAssignment = new ClusterLoadAssignment
            {
                ClusterName = Names.LocalAppCluster,
                Endpoints =
                {
                    new LocalityLbEndpoints
                    {
                        LbEndpoints = { new LbEndpoint { Endpoint = new Endpoint { Address = EndpointBuilder.Address(local.LocalAddress, local.LocalPort) } } },
                    },
                },
            },
        };
        if (IsHttp2(local.Protocol)) UseHttp2(cluster);
        return cluster;
    }

    private static Cluster Eds(ConfigSnapshot snapshot, EdsClusterPlan plan)
    {
        var upstream = plan.Upstream;
        var cluster = new Cluster
        {
            Name = plan.Name,
            Type = Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = TlsContexts.AdsSource() },
            ConnectTimeout = Duration.FromTimeSpan(ConnectTimeout(plan.Upstream, plan.Resolver)),
        };
        if (Thresholds(upstream.Limits) is { } thresholds) cluster.CircuitBreakers = new CircuitBreakers { Thresholds = { thresholds } };
        if (upstream.PassiveHealthCheck is { } check) cluster.OutlierDetection = Outlier(check);
        if (IsHttp2(upstream.Protocol)) UseHttp2(cluster);

        if (snapshot.Mode == ProxyMode.Proxyless)
        {
            cluster.LbPolicy = Cluster.Types.LbPolicy.RoundRobin;
            return cluster;
        }

        cluster.AltStatName = plan.Name;
        // Consul turns the panic threshold off: below 50% healthy Envoy would otherwise spray requests at unhealthy
        // instances, while health here comes from the catalog and is trusted.
        cluster.CommonLbConfig = new Cluster.Types.CommonLbConfig { HealthyPanicThreshold = new Envoy.Type.V3.Percent { Value = 0 } };
        ApplyLoadBalancer(cluster, plan.Resolver.LoadBalancer);
        var target = plan.Target;
        cluster.TransportSocket = TlsContexts.Socket(TlsContexts.Upstream(target.SNI,
            Names.ServiceSpiffeId(snapshot.TrustDomain, target.Datacenter, target.Service)));
        return cluster;
    }

    private static Cluster Aggregate(ConfigSnapshot snapshot, AggregateClusterPlan plan)
    {
        var config = new AggregateClusterConfig();
        config.Clusters.AddRange(plan.Children.Select(c => c.Name));
        var cluster = new Cluster
        {
            Name = plan.Name,
            ConnectTimeout = Duration.FromTimeSpan(ConnectTimeout(plan.Upstream, plan.Resolver)),
            ClusterType = new Cluster.Types.CustomClusterType { Name = Names.AggregateClusterType, TypedConfig = Any.Pack(config) },
            // Envoy requires CLUSTER_PROVIDED on an aggregate (it picks the child, the child balances); gRPC accepts
            // only ROUND_ROBIN there and ignores it the same way.
            LbPolicy = snapshot.Mode == ProxyMode.Proxyless ? Cluster.Types.LbPolicy.RoundRobin : Cluster.Types.LbPolicy.ClusterProvided,
        };
        if (snapshot.Mode == ProxyMode.Sidecar) cluster.AltStatName = plan.Name;
        return cluster;
    }

    /// <summary>The upstream's <c>connect_timeout_ms</c> if set, else the resolver's (5 s unless configured).</summary>
    private static TimeSpan ConnectTimeout(UpstreamSnapshot upstream, ChainNode resolver) =>
        upstream.ConnectTimeout is { } t && t > TimeSpan.Zero ? t
        : resolver.Resolver is { ConnectTimeout: var r } && r > TimeSpan.Zero ? r
        : ChainCompiler.DefaultConnectTimeout;

    /// <summary>The upstream's <c>limits</c> as one threshold set, or null when none is given (Envoy's defaults).</summary>
    internal static CircuitBreakers.Types.Thresholds? Thresholds(UpstreamLimits? limits)
    {
        if (limits is null || (limits.MaxConnections is null && limits.MaxPendingRequests is null && limits.MaxConcurrentRequests is null)) return null;
        var thresholds = new CircuitBreakers.Types.Thresholds();
        if (limits.MaxConnections is { } c) thresholds.MaxConnections = NonNegative(c);
        if (limits.MaxPendingRequests is { } p) thresholds.MaxPendingRequests = NonNegative(p);
        if (limits.MaxConcurrentRequests is { } r) thresholds.MaxRequests = NonNegative(r);
        return thresholds;
    }

    /// <summary>The upstream's <c>passive_health_check</c> as outlier detection on consecutive 5xx.</summary>
    internal static OutlierDetection Outlier(PassiveHealthCheck check)
    {
        var outlier = new OutlierDetection();
        if (check.Interval > TimeSpan.Zero) outlier.Interval = Duration.FromTimeSpan(check.Interval);
        if (check.MaxFailures > 0) outlier.Consecutive5Xx = (uint)check.MaxFailures;
        // A percentage: Envoy refuses values above 100.
        if (check.EnforcingConsecutive5xx is { } e) outlier.EnforcingConsecutive5Xx = (uint)Math.Clamp(e, 0, 100);
        return outlier;
    }

    private static uint NonNegative(int value) => value < 0 ? 0u : (uint)value;

    private static bool IsHttp2(string protocol) =>
        protocol.Equals("http2", StringComparison.OrdinalIgnoreCase) || protocol.Equals("grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>Speaks HTTP/2 to the cluster's endpoints (needed for gRPC; HTTP/1 would be Envoy's default).</summary>
    private static void UseHttp2(Cluster cluster)
    {
        var options = new HttpProtocolOptions
        {
            ExplicitHttpConfig = new HttpProtocolOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
        };
        cluster.TypedExtensionProtocolOptions[Names.HttpProtocolOptionsKey] = Any.Pack(options);
    }

    /// <summary>A resolver's <c>LoadBalancer</c> policy and its settings, as Consul maps them.</summary>
    internal static void ApplyLoadBalancer(Cluster cluster, LoadBalancerConfig? lb)
    {
        switch (lb?.Policy.ToLowerInvariant())
        {
            case "round_robin":
                cluster.LbPolicy = Cluster.Types.LbPolicy.RoundRobin;
                break;
            case "random":
                cluster.LbPolicy = Cluster.Types.LbPolicy.Random;
                break;
            case "maglev":
                cluster.LbPolicy = Cluster.Types.LbPolicy.Maglev;
                break;
            case "least_request":
                cluster.LbPolicy = Cluster.Types.LbPolicy.LeastRequest;
                if (Number(lb.LeastRequestConfig, "choicecount") is { } choice and > 0)
                    cluster.LeastRequestLbConfig = new Cluster.Types.LeastRequestLbConfig { ChoiceCount = (uint)Math.Min(choice, uint.MaxValue) };
                break;
            case "ring_hash":
                cluster.LbPolicy = Cluster.Types.LbPolicy.RingHash;
                var min = Number(lb.RingHashConfig, "minimumringsize");
                var max = Number(lb.RingHashConfig, "maximumringsize");
                if (min is > 0 || max is > 0)
                {
                    var ring = new Cluster.Types.RingHashLbConfig();
                    if (min is > 0) ring.MinimumRingSize = min.Value;
                    if (max is > 0) ring.MaximumRingSize = max.Value;
                    cluster.RingHashLbConfig = ring;
                }
                break;
        }
    }

    /// <summary>A whole-number field of a config object, its name matched without case or underscores; null when absent.</summary>
    private static ulong? Number(JsonElement? config, string normalizedName)
    {
        if (config is not { ValueKind: JsonValueKind.Object } obj) return null;
        foreach (var p in obj.EnumerateObject())
        {
            if (!p.Name.Replace("_", "").Equals(normalizedName, StringComparison.OrdinalIgnoreCase)) continue;
            return p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetUInt64(out var n) ? n : null;
        }
        return null;
    }

    /// <summary>
    /// Parses <c>envoy_extra_static_clusters_json</c>: one Envoy <c>Cluster</c> object, or several separated by commas
    /// (Consul splices the text into a JSON list). The last text parsed is remembered: the setting usually comes from
    /// <c>proxy-defaults</c>, so every proxy carries the same string and it is parsed once.
    /// </summary>
    internal static class ExtraClusters
    {
        private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithTypeRegistry(Names.AnyTypes));
        private static Parsed? last;

        private sealed record Parsed(string Json, IReadOnlyList<Cluster> Clusters, string? Error);

        /// <summary>The clusters the text holds, and an error line when some or all of it could not be used.</summary>
        public static (IReadOnlyList<Cluster> Clusters, string? Error) Parse(string json)
        {
            var cached = Volatile.Read(ref last);
            if (cached is null || !ReferenceEquals(cached.Json, json) && cached.Json != json)
            {
                cached = ParseUncached(json);
                Volatile.Write(ref last, cached);
            }
            return (cached.Clusters, cached.Error);
        }

        private static Parsed ParseUncached(string json)
        {
            JsonNode? list;
            try
            {
                list = JsonNode.Parse("[" + json + "]");
            }
            catch (JsonException e)
            {
                return new Parsed(json, [], $"envoy_extra_static_clusters_json is not valid JSON ({e.Message}); no extra cluster is added");
            }
            var clusters = new List<Cluster>();
            var problems = new List<string>();
            var index = 0;
            foreach (var item in list!.AsArray())
            {
                index++;
                if (item is not JsonObject obj)
                {
                    problems.Add($"item {index} is not a JSON object");
                    continue;
                }
                // Envoy's own JSON may carry the type of a top-level resource; the message type is known here.
                if (obj["@type"] is JsonValue type)
                {
                    if (type.ToString() != Names.ClusterType)
                    {
                        problems.Add($"item {index} has @type {type}, not {Names.ClusterType}");
                        continue;
                    }
                    obj.Remove("@type");
                }
                try
                {
                    var cluster = Parser.Parse<Cluster>(obj.ToJsonString());
                    if (cluster.Name.Length == 0)
                    {
                        problems.Add($"item {index} has no name");
                        continue;
                    }
                    clusters.Add(cluster);
                }
                catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException or InvalidOperationException or ArgumentException)
                {
                    problems.Add($"item {index}: {e.Message}");
                }
            }
            var error = problems.Count == 0 ? null
                : $"envoy_extra_static_clusters_json: {string.Join("; ", problems)}; the other clusters are added";
            return new Parsed(json, clusters, error);
        }
    }
}
