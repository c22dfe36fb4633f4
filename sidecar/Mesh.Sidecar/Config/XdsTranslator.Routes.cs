using System.Collections.Immutable;
using System.Text;
using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf.Collections;
using RetryPolicy = Envoy.Config.Route.V3.RetryPolicy;

namespace Mesh.Sidecar.Config;

internal sealed partial class XdsTranslator
{
    private static RouteTableConfig TranslateRouteConfiguration(RouteConfiguration config) => RouteTable(config, "");

    /// <summary>
    /// A route configuration (RDS, or inline in a listener): virtual hosts with their routes in order. Header changes
    /// of the configuration and of each virtual host are merged into every route (most specific first, as Envoy
    /// applies them), so the data plane looks at one mutation per route.
    /// </summary>
    private static RouteTableConfig RouteTable(RouteConfiguration config, string path)
    {
        if (config.Vhds is not null) throw Fail(path, "vhds is not supported");
        if (config.ClusterSpecifierPlugins.Count > 0) throw Fail(path, "cluster_specifier_plugins is not supported");
        var configRequest = Mutation(config.RequestHeadersToAdd, config.RequestHeadersToRemove, At(path, "request_headers_to_add"));
        var configResponse = Mutation(config.ResponseHeadersToAdd, config.ResponseHeadersToRemove, At(path, "response_headers_to_add"));
        var hosts = new List<VirtualHostConfig>(config.VirtualHosts.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var host in config.VirtualHosts)
        {
            var hostPath = At(path, $"virtual host \"{host.Name}\"");
            if (!names.Add(host.Name)) throw Fail(hostPath, "the name is used twice");
            hosts.Add(VirtualHost(host, hostPath, configRequest, configResponse));
        }
        return new RouteTableConfig(config.Name, ToArray(hosts));
    }

    private static VirtualHostConfig VirtualHost(VirtualHost host, string path, HeaderMutation configRequest, HeaderMutation configResponse)
    {
        if (host.Domains.Count == 0) throw Fail(path, "domains is empty");
        foreach (var domain in host.Domains)
        {
            // Envoy allows one wildcard, at either end, or "*" alone.
            var star = domain.IndexOf('*');
            if (domain.Length == 0 || (star >= 0 && (domain.IndexOf('*', star + 1) >= 0 || (star != 0 && star != domain.Length - 1))))
                throw Fail(path, $"domain \"{domain}\" is not valid (a wildcard may only lead or trail)");
        }
        if (host.RequireTls != Envoy.Config.Route.V3.VirtualHost.Types.TlsRequirementType.None) throw Fail(path, "require_tls is not supported");
        if (host.RetryPolicy is not null) throw Fail(path, "retry_policy is not supported on a virtual host");
        if (host.VirtualClusters.Count > 0) throw Fail(path, "virtual_clusters is not supported");
        if (host.RateLimits.Count > 0) throw Fail(path, "rate_limits is not supported");
        var hostRequest = Mutation(host.RequestHeadersToAdd, host.RequestHeadersToRemove, At(path, "request_headers_to_add"));
        var hostResponse = Mutation(host.ResponseHeadersToAdd, host.ResponseHeadersToRemove, At(path, "response_headers_to_add"));
        var request = Merge(hostRequest, configRequest);
        var response = Merge(hostResponse, configResponse);

        var routes = new List<RouteConfig>(host.Routes.Count);
        for (var i = 0; i < host.Routes.Count; i++)
        {
            var route = host.Routes[i];
            routes.Add(Route(route, At(path, route.Name.Length > 0 ? $"route {i} \"{route.Name}\"" : $"route {i}"), request, response));
        }
        return new VirtualHostConfig(host.Name, Strings(host.Domains), ToArray(routes));
    }

    private static RouteConfig Route(Route route, string path, HeaderMutation outerRequest, HeaderMutation outerResponse)
    {
        var match = Match(route.Match, At(path, "match"));
        var action = route.ActionCase switch
        {
            Envoy.Config.Route.V3.Route.ActionOneofCase.Route_ => Action(route.Route_, At(path, "route")),
            Envoy.Config.Route.V3.Route.ActionOneofCase.None => throw Fail(path, "the route has no action"),
            _ => throw Fail(path, $"{Snake(route.ActionCase.ToString())} actions are not supported"),
        };
        if (route.Decorator is not null) throw Fail(path, "decorator is not supported");
        var request = Merge(Mutation(route.RequestHeadersToAdd, route.RequestHeadersToRemove, At(path, "request_headers_to_add")), outerRequest);
        var response = Merge(Mutation(route.ResponseHeadersToAdd, route.ResponseHeadersToRemove, At(path, "response_headers_to_add")), outerResponse);
        return new RouteConfig(match, action, request, response);
    }

    private static RouteMatchConfig Match(RouteMatch? match, string path)
    {
        if (match is null) throw Fail(path, "is missing");
        if (match.Grpc is not null) throw Fail(path, "grpc is not supported");
        if (match.RuntimeFraction is not null) throw Fail(path, "runtime_fraction is not supported");
        if (match.TlsContext is not null) throw Fail(path, "tls_context is not supported");
        if (match.DynamicMetadata.Count > 0) throw Fail(path, "dynamic_metadata is not supported");
        var caseSensitive = match.CaseSensitive ?? true;
        var (kind, value, regex) = match.PathSpecifierCase switch
        {
            RouteMatch.PathSpecifierOneofCase.Prefix => (PathMatchKind.Prefix, match.Prefix, null),
            RouteMatch.PathSpecifierOneofCase.Path => (PathMatchKind.Exact, match.Path, null),
            RouteMatch.PathSpecifierOneofCase.PathSeparatedPrefix => (PathMatchKind.PathSeparatedPrefix, SeparatedPrefix(match.PathSeparatedPrefix, path), null),
            RouteMatch.PathSpecifierOneofCase.SafeRegex when match.SafeRegex is { } re => (PathMatchKind.Regex, re.Regex, CompileRegex(re.Regex, false, path)),
            RouteMatch.PathSpecifierOneofCase.None => throw Fail(path, "no path specifier (prefix, path, safe_regex or path_separated_prefix)"),
            _ => throw Fail(path, $"{Snake(match.PathSpecifierCase.ToString())} is not supported"),
        };
        var headers = new List<HeaderMatch>(match.Headers.Count);
        foreach (var header in match.Headers) headers.Add(HeaderMatcher(header, path));
        var query = new List<QueryParameterMatch>(match.QueryParameters.Count);
        foreach (var parameter in match.QueryParameters) query.Add(QueryParameterMatcher(parameter, path));
        return new RouteMatchConfig(kind, value, regex, caseSensitive, ToArray(headers), ToArray(query));
    }

    /// <summary>Envoy requires a path-separated prefix to start with <c>/</c>, not end with one, and hold no <c>?</c> or <c>#</c>.</summary>
    private static string SeparatedPrefix(string prefix, string path)
    {
        if (!prefix.StartsWith('/') || (prefix.Length > 1 && prefix.EndsWith('/')) || prefix.AsSpan().IndexOfAny('?', '#') >= 0)
            throw Fail(path, $"path_separated_prefix \"{prefix}\" must start with '/', not end with '/', and hold no '?' or '#'");
        return prefix;
    }

    /// <summary>
    /// A route action: one cluster or weighted clusters, the rewrite, timeouts (15 s when unset, zero for none),
    /// retries and hash policies; everything else Mesh never sends is refused.
    /// </summary>
    private static RouteActionConfig Action(RouteAction action, string path)
    {
        string? cluster = null;
        WeightedClusterSet? weighted = null;
        switch (action.ClusterSpecifierCase)
        {
            case RouteAction.ClusterSpecifierOneofCase.Cluster when action.Cluster.Length > 0:
                cluster = action.Cluster;
                break;
            case RouteAction.ClusterSpecifierOneofCase.WeightedClusters:
                weighted = RouteWeighted(action.WeightedClusters, At(path, "weighted_clusters"));
                break;
            case RouteAction.ClusterSpecifierOneofCase.None or RouteAction.ClusterSpecifierOneofCase.Cluster:
                throw Fail(path, "cluster or weighted_clusters is required");
            default:
                throw Fail(path, $"{Snake(action.ClusterSpecifierCase.ToString())} is not supported");
        }
        if (action.RegexRewrite is not null) throw Fail(path, "regex_rewrite is not supported");
        if (action.PathRewritePolicy is not null) throw Fail(path, "path_rewrite_policy is not supported");
        if (action.HostRewriteSpecifierCase != RouteAction.HostRewriteSpecifierOneofCase.None) throw Fail(path, $"{Snake(action.HostRewriteSpecifierCase.ToString())} is not supported");
        if (action.RequestMirrorPolicies.Count > 0) throw Fail(path, "request_mirror_policies is not supported");
        if (action.RateLimits.Count > 0) throw Fail(path, "rate_limits is not supported");
        if (action.MetadataMatch is not null) throw Fail(path, "metadata_match is not supported");
        if (action.MaxStreamDuration is not null) throw Fail(path, "max_stream_duration is not supported");

        var timeout = Time(action.Timeout, path, "timeout") ?? DefaultRouteTimeout;
        var idle = Time(action.IdleTimeout, path, "idle_timeout");
        // An idle timeout of zero turns it off in Envoy; the model's null means the same.
        if (idle == TimeSpan.Zero) idle = null;
        var retry = action.RetryPolicy is { } policy ? Retry(policy, At(path, "retry_policy")) : null;
        var hashes = new List<HashPolicyConfig>(action.HashPolicy.Count);
        for (var i = 0; i < action.HashPolicy.Count; i++) hashes.Add(HashPolicy(action.HashPolicy[i], At(path, $"hash_policy {i}")));
        var rewrite = action.PrefixRewrite.Length > 0 ? action.PrefixRewrite : null;
        return new RouteActionConfig(cluster, weighted, rewrite, timeout, idle, retry, ToArray(hashes));
    }

    private static WeightedClusterSet RouteWeighted(WeightedCluster weighted, string path)
    {
        if (weighted.RandomValueSpecifierCase != WeightedCluster.RandomValueSpecifierOneofCase.None) throw Fail(path, "header_name is not supported");
        if (weighted.RuntimeKeyPrefix.Length > 0) throw Fail(path, "runtime_key_prefix is not supported");
        var clusters = new List<WeightedClusterConfig>(weighted.Clusters.Count);
        long total = 0;
        for (var i = 0; i < weighted.Clusters.Count; i++)
        {
            var cluster = weighted.Clusters[i];
            if (cluster.ClusterHeader.Length > 0) throw Fail(path, $"cluster {i}: cluster_header is not supported");
            if (cluster.Name.Length == 0) throw Fail(path, $"cluster {i}: the name is empty");
            var clusterPath = At(path, $"cluster \"{cluster.Name}\"");
            if (cluster.MetadataMatch is not null) throw Fail(clusterPath, "metadata_match is not supported");
            if (cluster.HostRewriteSpecifierCase != WeightedCluster.Types.ClusterWeight.HostRewriteSpecifierOneofCase.None) throw Fail(clusterPath, "host_rewrite_literal is not supported");
            var weight = cluster.Weight ?? 0;
            total += weight;
            clusters.Add(new WeightedClusterConfig(cluster.Name, (int)Math.Min(weight, int.MaxValue),
                Mutation(cluster.RequestHeadersToAdd, cluster.RequestHeadersToRemove, At(clusterPath, "request_headers_to_add")),
                Mutation(cluster.ResponseHeadersToAdd, cluster.ResponseHeadersToRemove, At(clusterPath, "response_headers_to_add"))));
        }
        var set = WeightedSet(clusters, total, path);
        // The deprecated total_weight, when given, must equal the sum (Envoy refuses the route otherwise).
#pragma warning disable CS0612 // Deprecated, yet Envoy still checks it when given.
        if (weighted.TotalWeight is { } declared && declared != total)
#pragma warning restore CS0612
            throw Fail(path, $"total_weight {declared} is not the sum of the weights ({total})");
        return set;
    }

    /// <summary>
    /// A retry policy: the <c>retry_on</c> conditions the proxy can act on (<c>refused-stream</c> is a reset to it),
    /// <c>num_retries</c> (1 when unset, Envoy's default), the retriable status codes and the per-try timeout.
    /// </summary>
    private static RetryPolicyConfig Retry(RetryPolicy policy, string path)
    {
        bool connectFailure = false, reset = false, fiveHundreds = false, gateway = false, statusCodes = false;
        foreach (var raw in policy.RetryOn.Split(','))
        {
            var token = raw.Trim();
            switch (token)
            {
                case "": break;
                case "connect-failure": connectFailure = true; break;
                case "reset" or "refused-stream": reset = true; break;
                case "5xx": fiveHundreds = true; break;
                case "gateway-error": gateway = true; break;
                case "retriable-status-codes": statusCodes = true; break;
                default: throw Fail(path, $"retry_on condition \"{token}\" is not supported");
            }
        }
        if (policy.RetryPriority is not null) throw Fail(path, "retry_priority is not supported");
        if (policy.RetryHostPredicate.Count > 0) throw Fail(path, "retry_host_predicate is not supported");
        if (policy.RetriableHeaders.Count > 0) throw Fail(path, "retriable_headers is not supported");
        if (policy.RetriableRequestHeaders.Count > 0) throw Fail(path, "retriable_request_headers is not supported");
        var codes = new List<int>(policy.RetriableStatusCodes.Count);
        foreach (var code in policy.RetriableStatusCodes)
        {
            if (code is < 100 or > 599) throw Fail(path, $"retriable status code {code} is not an HTTP status");
            codes.Add((int)code);
        }
        var retries = policy.NumRetries ?? 1;
        if (retries > 100) throw Fail(path, $"num_retries {retries} is more than 100");
        var perTry = Time(policy.PerTryTimeout, path, "per_try_timeout");
        if (perTry == TimeSpan.Zero) perTry = null;
        return new RetryPolicyConfig((int)retries, connectFailure, reset, fiveHundreds, gateway, statusCodes, ToArray(codes), perTry);
    }

    private static HashPolicyConfig HashPolicy(RouteAction.Types.HashPolicy policy, string path)
    {
        var terminal = policy.Terminal;
        switch (policy.PolicySpecifierCase)
        {
            case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.Header:
                if (policy.Header.HeaderName.Length == 0) throw Fail(path, "header: header_name is empty");
                if (policy.Header.RegexRewrite is not null) throw Fail(path, "header: regex_rewrite is not supported");
                return new HashPolicyConfig.Header(policy.Header.HeaderName.ToLowerInvariant(), terminal);
            case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.Cookie:
                if (policy.Cookie.Name.Length == 0) throw Fail(path, "cookie: name is empty");
                if (policy.Cookie.Attributes.Count > 0) throw Fail(path, "cookie: attributes is not supported");
                return new HashPolicyConfig.Cookie(policy.Cookie.Name, Time(policy.Cookie.Ttl, path, "cookie: ttl"),
                    policy.Cookie.Path.Length > 0 ? policy.Cookie.Path : null, terminal);
            case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.ConnectionProperties when policy.ConnectionProperties.SourceIp:
                return new HashPolicyConfig.SourceIp(terminal);
            case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.ConnectionProperties:
                throw Fail(path, "connection_properties: source_ip must be true");
            case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.QueryParameter:
                if (policy.QueryParameter.Name.Length == 0) throw Fail(path, "query_parameter: name is empty");
                return new HashPolicyConfig.QueryParameter(policy.QueryParameter.Name, terminal);
            case RouteAction.Types.HashPolicy.PolicySpecifierOneofCase.None:
                throw Fail(path, "no policy is set (header, cookie, connection_properties or query_parameter)");
            default:
                throw Fail(path, $"{Snake(policy.PolicySpecifierCase.ToString())} is not supported");
        }
    }

    /// <summary>
    /// Headers to add and remove. <c>append_action</c> decides unless the deprecated <c>append</c> is set (it wins, as
    /// in Envoy); adding only when absent or overwriting only when present is refused, the model has no such modes.
    /// </summary>
    private static HeaderMutation Mutation(RepeatedField<HeaderValueOption> add, RepeatedField<string> remove, string path)
    {
        if (add.Count == 0 && remove.Count == 0) return HeaderMutation.None;
        var adds = new List<HeaderToAdd>(add.Count);
        foreach (var option in add)
        {
            if (option.Header is not { } header || header.Key.Length == 0) throw Fail(path, "a header without a name");
            var name = header.Key.ToLowerInvariant();
            var value = header.Value.Length > 0 || header.RawValue.IsEmpty ? header.Value : Encoding.UTF8.GetString(header.RawValue.Span);
            bool append;
#pragma warning disable CS0612 // The deprecated append still wins over append_action when set, as in Envoy.
            if (option.Append is { } legacy)
#pragma warning restore CS0612
            {
                append = legacy;
            }
            else
            {
                append = option.AppendAction switch
                {
                    HeaderValueOption.Types.HeaderAppendAction.AppendIfExistsOrAdd => true,
                    HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd => false,
                    _ => throw Fail(path, $"header \"{header.Key}\": append_action {Snake(option.AppendAction.ToString()).ToUpperInvariant()} is not supported"),
                };
            }
            adds.Add(new HeaderToAdd(name, value, append));
        }
        var removes = new List<string>(remove.Count);
        foreach (var name in remove)
        {
            if (name.Length == 0) throw Fail(path, "a header to remove without a name");
            removes.Add(name.ToLowerInvariant());
        }
        return new HeaderMutation(ToArray(adds), ToArray(removes));
    }

    /// <summary>The inner mutation's changes first, then the outer's (Envoy's default order: route, virtual host, configuration).</summary>
    private static HeaderMutation Merge(HeaderMutation inner, HeaderMutation outer)
    {
        if (outer.IsEmpty) return inner;
        if (inner.IsEmpty) return outer;
        return new HeaderMutation(inner.Add.AddRange(outer.Add), inner.Remove.AddRange(outer.Remove.Where(r => !inner.Remove.Contains(r))));
    }
}
