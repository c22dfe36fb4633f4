using Envoy.Config.Metrics.V3;

namespace Mesh.Xds.Bootstrap;

/// <summary>
/// The stats tags Consul's bootstrap gives Envoy, so dashboards built for Consul's proxies read Mesh's the same way:
/// regexes that lift the parts of an upstream cluster name (<c>[subset.]service.namespace.[partition.]dc.internal.
/// trust-domain.consul</c>) and of an upstream listener's stat prefix (<c>upstream.service.namespace.dc</c>) into
/// tags, then fixed tags naming the proxy's own service. Each regex's outer capture group is cut from the metric name
/// and its inner group becomes the tag's value (Envoy's <c>TagSpecifier</c> semantics).
/// </summary>
internal static class StatsTags
{
    // One name segment; every regex below is spelled with it so the shapes line up column by column.
    private const string S = "[^.]+";

    // The body of an upstream cluster name after "cluster.": optional custom hash "~", optional subset, service,
    // namespace, optional partition, datacenter, routing type, trust domain. Each rule passes a capture group for
    // the part it tags and the plain segment for the rest.
    private static string Cluster(string hash, string subset, string service, string ns, string partition, string dc, string routing, string trust) =>
        $@"(?:{hash}~)?(?:{subset}\.)?{service}\.{ns}\.(?:{partition}\.)?{dc}\.{routing}\.{trust}\.consul\.";

    private static readonly (string Name, string Regex)[] Current =
    [
        ("consul.destination.custom_hash", $@"^cluster\.(?:passthrough~)?({Cluster($"({S})", S, S, S, S, S, S, S)})"),
        ("consul.destination.service_subset", $@"^cluster\.(?:passthrough~)?({Cluster(S, $"({S})", S, S, S, S, S, S)})"),
        ("consul.destination.service", $@"^cluster\.(?:passthrough~)?({Cluster(S, S, $"({S})", S, S, S, S, S)})"),
        ("consul.destination.namespace", $@"^cluster\.(?:passthrough~)?({Cluster(S, S, S, $"({S})", S, S, S, S)})"),
        ("consul.destination.partition", $@"^cluster\.(?:passthrough~)?({Cluster(S, S, S, S, $"({S})", S, "internal[^.]*", S)})"),
        ("consul.destination.datacenter", $@"^cluster\.(?:passthrough~)?({Cluster(S, S, S, S, S, $"({S})", "internal[^.]*", S)})"),
        ("consul.destination.peer", $@"^cluster\.({S}\.(?:{S}\.)?({S})\.external\.{S}\.consul\.)"),
        ("consul.destination.routing_type", $@"^cluster\.(?:passthrough~)?({Cluster(S, S, S, S, S, S, $"({S})", S)})"),
        ("consul.destination.trust_domain", $@"^cluster\.(?:passthrough~)?({Cluster(S, S, S, S, S, S, S, $"({S})")})"),
        ("consul.destination.target", $@"^cluster\.(?:passthrough~)?(((?:{S}~)?(?:{S}\.)?{S}\.{S}\.(?:{S}\.)?{S})\.{S}\.{S}\.consul\.)"),
        ("consul.destination.full_target", $@"^cluster\.(?:passthrough~)?(((?:{S}~)?(?:{S}\.)?{S}\.{S}\.(?:{S}\.)?{S}\.{S}\.{S})\.consul\.)"),
        ("consul.upstream.service", $@"^(?:tcp|http)\.upstream(?:_peered)?\.(({S})(?:\.{S})?(?:\.{S})?\.{S}\.)"),
        ("consul.upstream.datacenter", $@"^(?:tcp|http)\.upstream\.({S}(?:\.{S})?(?:\.{S})?\.({S})\.)"),
        ("consul.upstream.peer", $@"^(?:tcp|http)\.upstream_peered\.({S}(?:\.{S})?\.({S})\.)"),
        ("consul.upstream.namespace", $@"^(?:tcp|http)\.upstream(?:_peered)?\.({S}(?:\.({S}))?(?:\.{S})?\.{S}\.)"),
        ("consul.upstream.partition", $@"^(?:tcp|http)\.upstream\.({S}(?:\.{S})?(?:\.({S}))?\.{S}\.)"),
    ];

    // The names Consul used before 1.9 ("consul.service" rather than "consul.destination.service"); Consul still
    // emits them unless told to omit them, so Mesh does too.
    private static readonly (string Name, string Regex)[] Deprecated =
    [
        ("consul.custom_hash", $@"^cluster\.({Cluster($"({S})", S, S, S, S, S, S, S)})"),
        ("consul.service_subset", $@"^cluster\.({Cluster(S, $"({S})", S, S, S, S, S, S)})"),
        ("consul.service", $@"^cluster\.({Cluster(S, S, $"({S})", S, S, S, S, S)})"),
        ("consul.namespace", $@"^cluster\.({Cluster(S, S, S, $"({S})", S, S, S, S)})"),
        ("consul.datacenter", $@"^cluster\.({Cluster(S, S, S, S, S, $"({S})", "internal[^.]*", S)})"),
        ("consul.routing_type", $@"^cluster\.({Cluster(S, S, S, S, S, S, $"({S})", S)})"),
        ("consul.trust_domain", $@"^cluster\.({Cluster(S, S, S, S, S, S, S, $"({S})")})"),
        ("consul.target", $@"^cluster\.(((?:{S}~)?(?:{S}\.)?{S}\.{S}\.(?:{S}\.)?{S})\.{S}\.{S}\.consul\.)"),
        ("consul.full_target", $@"^cluster\.(((?:{S}~)?(?:{S}\.)?{S}\.{S}\.(?:{S}\.)?{S}\.{S}\.{S})\.consul\.)"),
    ];

    /// <summary>
    /// Builds the stats configuration: the user's fixed tags first (<c>name=value</c>, or <c>name</c> meaning value
    /// 1; names lower-cased), then the regex tags, then the proxy's own tags unless the user set one of those names.
    /// </summary>
    public static StatsConfig Build(IReadOnlyList<string> userTags, string proxyCluster, string sourceService, string datacenter)
    {
        var config = new StatsConfig { UseAllDefaultTags = true };
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tag in userTags)
        {
            var eq = tag.IndexOf('=', StringComparison.Ordinal);
            var name = (eq < 0 ? tag : tag[..eq]).ToLowerInvariant();
            config.StatsTags.Add(new TagSpecifier { TagName = name, FixedValue = eq < 0 ? "1" : tag[(eq + 1)..] });
            given.Add(name);
        }
        foreach (var (name, regex) in Current.Concat(Deprecated))
            config.StatsTags.Add(new TagSpecifier { TagName = name, Regex = regex });
        (string Name, string Value)[] own =
        [
            ("local_cluster", proxyCluster),
            ("consul.source.service", sourceService),
            ("consul.source.namespace", "default"),
            ("consul.source.partition", "default"),
            ("consul.source.datacenter", datacenter),
        ];
        foreach (var (name, value) in own)
        {
            if (value.Length == 0 || given.Contains(name)) continue;
            config.StatsTags.Add(new TagSpecifier { TagName = name, FixedValue = value });
        }
        return config;
    }
}
