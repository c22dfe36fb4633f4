using System.Text.Json;

namespace Mesh.Connect.Entries;

/// <summary><c>service-defaults</c>: a service's protocol and proxy settings.</summary>
public sealed record ServiceDefaultsEntry : ConfigEntry
{
    /// <summary><c>tcp</c> (default), <c>http</c>, <c>http2</c> or <c>grpc</c>.</summary>
    public string Protocol { get; init; } = "";
    public string Mode { get; init; } = "";
    public MeshGatewayConfig? MeshGateway { get; init; }
    public ExposeConfig? Expose { get; init; }
    public string ExternalSNI { get; init; } = "";
    /// <summary>Upstream defaults and per-upstream overrides, kept as written.</summary>
    public JsonElement? UpstreamConfig { get; init; }
    public JsonElement? TransparentProxy { get; init; }
    public int MaxInboundConnections { get; init; }
    public int LocalConnectTimeoutMs { get; init; }
    public int LocalRequestTimeoutMs { get; init; }
    public string BalanceInboundConnections { get; init; } = "";
}

/// <summary><c>proxy-defaults</c> (named <c>global</c>): settings for every proxy.</summary>
public sealed record ProxyDefaultsEntry : ConfigEntry
{
    /// <summary>The one name proxy-defaults may have.</summary>
    public const string GlobalName = "global";
    /// <summary>Opaque proxy configuration: <c>protocol</c>, <c>envoy_tracing_json</c>, <c>local_connect_timeout_ms</c>...</summary>
    public Dictionary<string, JsonElement>? Config { get; init; }
    public string Mode { get; init; } = "";
    public MeshGatewayConfig? MeshGateway { get; init; }
    public ExposeConfig? Expose { get; init; }
    public JsonElement? TransparentProxy { get; init; }
}

/// <summary><c>service-resolver</c>: subsets of a service's instances, redirects, failover, timeouts, load balancing.</summary>
public sealed record ServiceResolverEntry : ConfigEntry
{
    public string DefaultSubset { get; init; } = "";
    public Dictionary<string, ResolverSubset>? Subsets { get; init; }
    public ResolverRedirect? Redirect { get; init; }
    /// <summary>Failover by subset name, or <c>*</c> for any.</summary>
    public Dictionary<string, ResolverFailover>? Failover { get; init; }
    public TimeSpan ConnectTimeout { get; init; }
    public TimeSpan RequestTimeout { get; init; }
    public LoadBalancerConfig? LoadBalancer { get; init; }
}

/// <summary>A named subset: the instances the filter (a bexpr over the instance) selects.</summary>
public sealed record ResolverSubset
{
    public string Filter { get; init; } = "";
    public bool OnlyPassing { get; init; }
}

/// <summary>Send every request for the service elsewhere.</summary>
public sealed record ResolverRedirect
{
    public string Service { get; init; } = "";
    public string ServiceSubset { get; init; } = "";
    public string Namespace { get; init; } = "";
    public string Partition { get; init; } = "";
    public string Datacenter { get; init; } = "";
    public string Peer { get; init; } = "";
}

/// <summary>Where to go when a subset has no healthy instance.</summary>
public sealed record ResolverFailover
{
    public string Service { get; init; } = "";
    public string ServiceSubset { get; init; } = "";
    public string Namespace { get; init; } = "";
    public List<string>? Datacenters { get; init; }
    public List<FailoverTarget>? Targets { get; init; }
}

/// <summary>One failover target.</summary>
public sealed record FailoverTarget
{
    public string Service { get; init; } = "";
    public string ServiceSubset { get; init; } = "";
    public string Namespace { get; init; } = "";
    public string Partition { get; init; } = "";
    public string Datacenter { get; init; } = "";
    public string Peer { get; init; } = "";
}

/// <summary>Load-balancing policy and its settings.</summary>
public sealed record LoadBalancerConfig
{
    /// <summary><c>round_robin</c>, <c>least_request</c>, <c>ring_hash</c>, <c>maglev</c>, <c>random</c>, or empty.</summary>
    public string Policy { get; init; } = "";
    public JsonElement? RingHashConfig { get; init; }
    public JsonElement? LeastRequestConfig { get; init; }
    public List<JsonElement>? HashPolicies { get; init; }
}

/// <summary><c>service-splitter</c>: weighted shares of traffic to services or subsets (a canary).</summary>
public sealed record ServiceSplitterEntry : ConfigEntry
{
    public List<SplitterSplit>? Splits { get; init; }
}

/// <summary>One share.</summary>
public sealed record SplitterSplit
{
    /// <summary>Percent, to two decimals; a splitter's weights sum to exactly 100.</summary>
    public double Weight { get; init; }
    public string Service { get; init; } = "";
    public string ServiceSubset { get; init; } = "";
    public string Namespace { get; init; } = "";
    public string Partition { get; init; } = "";
    public HeaderModifiers? RequestHeaders { get; init; }
    public HeaderModifiers? ResponseHeaders { get; init; }
}

/// <summary><c>service-router</c>: L7 routes, first match wins; no match goes to the service itself.</summary>
public sealed record ServiceRouterEntry : ConfigEntry
{
    public List<RouterRoute>? Routes { get; init; }
}

/// <summary>One route.</summary>
public sealed record RouterRoute
{
    public RouteMatch? Match { get; init; }
    public RouteDestination? Destination { get; init; }
}

/// <summary>What a route matches.</summary>
public sealed record RouteMatch
{
    public RouteHttpMatch? HTTP { get; init; }
}

/// <summary>An HTTP match: at most one path match, headers, query parameters and methods, all of which must hold.</summary>
public sealed record RouteHttpMatch
{
    public string PathExact { get; init; } = "";
    public string PathPrefix { get; init; } = "";
    public string PathRegex { get; init; } = "";
    public List<HeaderMatch>? Header { get; init; }
    public List<QueryParamMatch>? QueryParam { get; init; }
    public List<string>? Methods { get; init; }
}

/// <summary>A match on a query parameter.</summary>
public sealed record QueryParamMatch
{
    public string Name { get; init; } = "";
    public bool Present { get; init; }
    public string Exact { get; init; } = "";
    public string Regex { get; init; } = "";
}

/// <summary>Where a matched request goes, and how.</summary>
public sealed record RouteDestination
{
    public string Service { get; init; } = "";
    public string ServiceSubset { get; init; } = "";
    public string Namespace { get; init; } = "";
    public string Partition { get; init; } = "";
    public string PrefixRewrite { get; init; } = "";
    public TimeSpan RequestTimeout { get; init; }
    public TimeSpan IdleTimeout { get; init; }
    public int NumRetries { get; init; }
    public bool RetryOnConnectFailure { get; init; }
    public List<int>? RetryOnStatusCodes { get; init; }
    public List<string>? RetryOn { get; init; }
    public HeaderModifiers? RequestHeaders { get; init; }
    public HeaderModifiers? ResponseHeaders { get; init; }
}

/// <summary><c>service-intentions</c>: which sources may reach the destination named by the entry, at L4 or L7.</summary>
public sealed record ServiceIntentionsEntry : ConfigEntry
{
    public List<IntentionSource>? Sources { get; init; }
}

/// <summary>One source's rule: an action (L4) or permissions (L7), never both.</summary>
public sealed record IntentionSource
{
    public string Name { get; init; } = "";
    public string Namespace { get; init; } = "";
    public string Partition { get; init; } = "";
    public string Peer { get; init; } = "";
    /// <summary><c>allow</c> or <c>deny</c>; empty when <see cref="Permissions"/> are given.</summary>
    public string Action { get; init; } = "";
    public List<IntentionPermission>? Permissions { get; init; }
    /// <summary>Computed, reported on read (9 exact→exact ... 5 *→*).</summary>
    public int Precedence { get; init; }
    /// <summary><c>consul</c>.</summary>
    public string Type { get; init; } = "consul";
    public string Description { get; init; } = "";
    public string LegacyID { get; init; } = "";
    public Dictionary<string, string>? LegacyMeta { get; init; }
    public DateTime? LegacyCreateTime { get; init; }
    public DateTime? LegacyUpdateTime { get; init; }
}

/// <summary>An L7 permission: an action for the requests its HTTP match selects.</summary>
public sealed record IntentionPermission
{
    public string Action { get; init; } = "";
    public IntentionHttpMatch? HTTP { get; init; }
}

/// <summary>The HTTP match of a permission.</summary>
public sealed record IntentionHttpMatch
{
    public string PathExact { get; init; } = "";
    public string PathPrefix { get; init; } = "";
    public string PathRegex { get; init; } = "";
    public List<string>? Methods { get; init; }
    public List<HeaderMatch>? Header { get; init; }
}
