using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace Mesh.Sidecar.Config;

/// <summary>A route configuration (RDS, or inline in a listener): virtual hosts chosen by the request's authority.</summary>
internal sealed record RouteTableConfig(string Name, ImmutableArray<VirtualHostConfig> VirtualHosts);

/// <summary>
/// A virtual host: domains (exact, <c>*.suffix</c>, <c>prefix*</c>, or <c>*</c>) and routes tried in order, first
/// match wins.
/// </summary>
internal sealed record VirtualHostConfig(string Name, ImmutableArray<string> Domains, ImmutableArray<RouteConfig> Routes);

/// <summary>One route: a match, where it goes, and header changes.</summary>
internal sealed record RouteConfig(
    RouteMatchConfig Match,
    RouteActionConfig Action,
    HeaderMutation RequestHeaders,
    HeaderMutation ResponseHeaders);

/// <summary>How a route matches the request path.</summary>
internal enum PathMatchKind { Prefix, Exact, Regex, PathSeparatedPrefix }

/// <summary>A route's match: path, then every header and every query parameter.</summary>
/// <param name="PathKind">How <paramref name="Path"/> applies.</param>
/// <param name="Path">The prefix or exact path (unused for regex).</param>
/// <param name="PathRegex">For <see cref="PathMatchKind.Regex"/>: the anchored regex matched against the path without query.</param>
/// <param name="CaseSensitive">Whether prefix/exact comparisons are case sensitive (Envoy's default: true).</param>
/// <param name="Headers">Header matchers; all must match.</param>
/// <param name="QueryParameters">Query parameter matchers; all must match.</param>
internal sealed record RouteMatchConfig(
    PathMatchKind PathKind,
    string Path,
    Regex? PathRegex,
    bool CaseSensitive,
    ImmutableArray<HeaderMatch> Headers,
    ImmutableArray<QueryParameterMatch> QueryParameters);

/// <summary>Where a matched request goes (Envoy's <c>RouteAction</c>, the part Mesh emits).</summary>
/// <param name="Cluster">The upstream cluster, when not weighted.</param>
/// <param name="WeightedClusters">A weighted choice per request, instead of <paramref name="Cluster"/>.</param>
/// <param name="PrefixRewrite">Replaces the matched prefix (or the whole path for exact matches).</param>
/// <param name="Timeout">Time for the whole upstream response; null: Envoy's default of 15 s (the translator fills it in); zero: none.</param>
/// <param name="IdleTimeout">Time a stream may be idle; null: none.</param>
/// <param name="Retry">The retry policy; null: no retries.</param>
/// <param name="HashPolicies">Request hashing for ring-hash/maglev clusters, in order.</param>
internal sealed record RouteActionConfig(
    string? Cluster,
    WeightedClusterSet? WeightedClusters,
    string? PrefixRewrite,
    TimeSpan? Timeout,
    TimeSpan? IdleTimeout,
    RetryPolicyConfig? Retry,
    ImmutableArray<HashPolicyConfig> HashPolicies);

/// <summary>A weighted set of clusters; weights sum to <see cref="TotalWeight"/> (greater than zero).</summary>
internal sealed record WeightedClusterSet(ImmutableArray<WeightedClusterConfig> Clusters, int TotalWeight);

/// <summary>One weighted cluster with the header changes applied when it is chosen.</summary>
internal sealed record WeightedClusterConfig(string Name, int Weight, HeaderMutation RequestHeaders, HeaderMutation ResponseHeaders);

/// <summary>
/// When and how often to retry (Envoy's <c>RetryPolicy</c>). <c>retry_on</c> is split into the flags; a request
/// whose body has already been streamed upstream is not retried.
/// </summary>
internal sealed record RetryPolicyConfig(
    int NumRetries,
    bool OnConnectFailure,
    bool OnReset,
    bool On5xx,
    bool OnGatewayError,
    bool OnRetriableStatusCodes,
    ImmutableArray<int> RetriableStatusCodes,
    TimeSpan? PerTryTimeout);

/// <summary>Headers to add (or overwrite) and to remove.</summary>
internal sealed record HeaderMutation(ImmutableArray<HeaderToAdd> Add, ImmutableArray<string> Remove)
{
    /// <summary>No changes.</summary>
    public static readonly HeaderMutation None = new([], []);

    /// <summary>True when nothing changes.</summary>
    public bool IsEmpty => Add.IsEmpty && Remove.IsEmpty;
}

/// <summary>A header to set; <paramref name="Append"/> adds a value rather than replacing existing ones.</summary>
internal sealed record HeaderToAdd(string Name, string Value, bool Append);

/// <summary>One request hash input for consistent-hash load balancing.</summary>
internal abstract record HashPolicyConfig(bool Terminal)
{
    /// <summary>Hash a request header.</summary>
    public sealed record Header(string Name, bool IsTerminal) : HashPolicyConfig(IsTerminal);
    /// <summary>Hash a cookie (Envoy would set it when absent and a TTL is given; Mesh hashes it only when present).</summary>
    public sealed record Cookie(string Name, TimeSpan? Ttl, string? Path, bool IsTerminal) : HashPolicyConfig(IsTerminal);
    /// <summary>Hash the downstream source address.</summary>
    public sealed record SourceIp(bool IsTerminal) : HashPolicyConfig(IsTerminal);
    /// <summary>Hash a query parameter.</summary>
    public sealed record QueryParameter(string Name, bool IsTerminal) : HashPolicyConfig(IsTerminal);
}
