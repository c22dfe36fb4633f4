using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Mesh.State.Tables;

/// <summary>One place a prepared query may fail over to: a datacenter or a cluster peer.</summary>
public sealed record QueryFailoverTarget
{
    /// <summary>A cluster peer (stored and shown; peering does not exist here).</summary>
    public string Peer { get; init; } = "";

    /// <summary>A WAN-federated datacenter.</summary>
    public string Datacenter { get; init; } = "";
}

/// <summary>Where a prepared query looks when the local datacenter has no healthy instance (Consul's <c>Failover</c>).</summary>
public sealed record QueryFailover
{
    /// <summary>How many of the nearest other datacenters to try.</summary>
    public int NearestN { get; init; }

    /// <summary>Datacenters to try, in order, after the nearest ones.</summary>
    public ImmutableArray<string> Datacenters { get; init; } = [];

    /// <summary>Datacenters or peers to try, in order; exclusive with the two fields above.</summary>
    public ImmutableArray<QueryFailoverTarget> Targets { get; init; } = [];
}

/// <summary>What a prepared query selects (Consul's <c>ServiceQuery</c>).</summary>
public sealed record ServiceQuery
{
    /// <summary>The service to query (required).</summary>
    public string Service { get; init; } = "";

    /// <summary>Failover to other datacenters.</summary>
    public QueryFailover Failover { get; init; } = new();

    /// <summary>Exclude instances with a warning check too, not only a critical one.</summary>
    public bool OnlyPassing { get; init; }

    /// <summary>Checks whose status does not count.</summary>
    public ImmutableArray<string> IgnoreCheckIDs { get; init; } = [];

    /// <summary>The node whose instances come first (<c>_agent</c>: the executing agent's, <c>_ip</c>: the caller's).</summary>
    public string Near { get; init; } = "";

    /// <summary>Tags every instance must have; a tag starting with <c>!</c> must be absent. Case-insensitive.</summary>
    public ImmutableArray<string> Tags { get; init; } = [];

    /// <summary>Node metadata every instance's node must have.</summary>
    public ImmutableDictionary<string, string> NodeMeta { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Service metadata every instance must have.</summary>
    public ImmutableDictionary<string, string> ServiceMeta { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Select the Connect-capable instances (proxies for the service and Connect-native instances).</summary>
    public bool Connect { get; init; }

    internal bool SameContent(ServiceQuery o) =>
        Service == o.Service && OnlyPassing == o.OnlyPassing && Near == o.Near && Connect == o.Connect &&
        Failover.NearestN == o.Failover.NearestN && Failover.Datacenters.SequenceEqual(o.Failover.Datacenters) &&
        Failover.Targets.SequenceEqual(o.Failover.Targets) && IgnoreCheckIDs.SequenceEqual(o.IgnoreCheckIDs) &&
        Tags.SequenceEqual(o.Tags) && ServiceInstance.SameMap(NodeMeta, o.NodeMeta) && ServiceInstance.SameMap(ServiceMeta, o.ServiceMeta);
}

/// <summary>Template settings of a prepared query; an empty <see cref="Type"/> means a static query.</summary>
public sealed record QueryTemplateOptions
{
    /// <summary>The only template type Consul has.</summary>
    public const string NamePrefixMatch = "name_prefix_match";

    /// <summary><c>name_prefix_match</c>, or empty for a static query.</summary>
    public string Type { get; init; } = "";

    /// <summary>A regular expression run against the full name looked up; its groups are <c>${match(N)}</c>.</summary>
    public string Regexp { get; init; } = "";

    /// <summary>Drop tags that render empty.</summary>
    public bool RemoveEmptyTags { get; init; }
}

/// <summary>How the answers of a prepared query are served over DNS.</summary>
public sealed record QueryDnsOptions
{
    /// <summary>The TTL as a Go duration (<c>"10s"</c>), or empty for the agent's default.</summary>
    public string TTL { get; init; } = "";
}

/// <summary>A prepared query (Consul's <c>PreparedQuery</c>): a stored service query executed by ID or name.</summary>
public sealed record PreparedQuery
{
    /// <summary>A UUID chosen by the server that created it.</summary>
    public required string ID { get; init; }

    /// <summary>An optional name, unique among queries regardless of case; for a template, the prefix it answers.</summary>
    public string Name { get; init; } = "";

    /// <summary>A session whose end deletes the query, or empty.</summary>
    public string Session { get; init; } = "";

    /// <summary>The ACL token to execute the query with (stored and shown; ACLs do not exist here yet).</summary>
    public string Token { get; init; } = "";

    /// <summary>Template settings.</summary>
    public QueryTemplateOptions Template { get; init; } = new();

    /// <summary>What the query selects.</summary>
    public ServiceQuery Service { get; init; } = new();

    /// <summary>DNS settings.</summary>
    public QueryDnsOptions DNS { get; init; } = new();

    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }

    /// <summary>Whether this query is a template (resolved by name prefix and rendered before it runs).</summary>
    [JsonIgnore]
    public bool IsTemplate => Template.Type.Length > 0;

    /// <summary>Same definition, ignoring the indexes (arrays and maps compared by content, not by reference).</summary>
    internal bool SameContent(PreparedQuery o) =>
        Name == o.Name && Session == o.Session && Token == o.Token && Template == o.Template && DNS == o.DNS &&
        Service.SameContent(o.Service);
}
