using System.Collections.Immutable;

namespace Mesh.State.Tables;

/// <summary>Names of the store's tables, as used for table indexes and watches.</summary>
public static class TableNames
{
    public const string Kvs = "kvs";
    public const string Tombstones = "tombstones";
    public const string Sessions = "sessions";
    /// <summary>Watch-only table: sessions keyed by node name.</summary>
    public const string SessionsByNode = "sessions.node";
    public const string Nodes = "nodes";
    public const string Checks = "checks";
    public const string Services = "services";
    /// <summary>Watch-only table keyed by service name: fires when an instance of the service or its checks change.</summary>
    public const string ServiceNames = "services.name";
    /// <summary>Watch-only table keyed by node name: fires when the node, its services or its checks change.</summary>
    public const string NodeNames = "nodes.name";
    public const string PreparedQueries = "prepared-queries";
    public const string CaConfig = "connect-ca-config";
    public const string CaRoots = "connect-ca-roots";
    public const string ConfigEntries = "config-entries";

    /// <summary>The index entry that moves whenever an instance of <paramref name="service"/> or its checks change.</summary>
    public static string ServiceIndex(string service) => "service." + service;

    /// <summary>The index entry that moves whenever <paramref name="node"/>, its services or its checks change.</summary>
    public static string NodeIndex(string node) => "node." + node;
}

/// <summary>An address a service is reachable at, under a name in its <c>TaggedAddresses</c> (<c>lan</c>, <c>wan</c>...).</summary>
public sealed record ServiceAddress(string Address, int Port);

/// <summary>A service's load-balancing weights.</summary>
public sealed record ServiceWeights(int Passing = 1, int Warning = 1);

/// <summary>A service instance registered on a node (Consul's <c>ServiceNode</c>/<c>NodeService</c>).</summary>
public sealed record ServiceInstance
{
    public required string Node { get; init; }
    public required string ID { get; init; }
    public required string Service { get; init; }
    public ImmutableArray<string> Tags { get; init; } = [];
    public string Address { get; init; } = "";
    public ImmutableDictionary<string, ServiceAddress> TaggedAddresses { get; init; } = ImmutableDictionary<string, ServiceAddress>.Empty;
    public ImmutableDictionary<string, string> Meta { get; init; } = ImmutableDictionary<string, string>.Empty;
    public int Port { get; init; }
    public ServiceWeights Weights { get; init; } = new();
    public bool EnableTagOverride { get; init; }
    /// <summary><c>""</c>, <c>connect-proxy</c>, <c>mesh-gateway</c>, <c>terminating-gateway</c>, <c>ingress-gateway</c>.</summary>
    public string Kind { get; init; } = "";
    /// <summary>The <c>Proxy</c> block as JSON (kept whole: Connect's issues give it structure), or null.</summary>
    public string? ProxyJson { get; init; }
    /// <summary>The <c>Connect</c> block as JSON, or null.</summary>
    public string? ConnectJson { get; init; }
    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }

    internal string RowKey => RowKeyOf(Node, ID);
    internal static string RowKeyOf(string node, string id) => node + "\0" + id;

    internal bool SameContent(ServiceInstance o) =>
        Service == o.Service && Tags.SequenceEqual(o.Tags) && Address == o.Address && Port == o.Port &&
        Weights == o.Weights && EnableTagOverride == o.EnableTagOverride && Kind == o.Kind &&
        ProxyJson == o.ProxyJson && ConnectJson == o.ConnectJson &&
        TaggedAddresses.Count == o.TaggedAddresses.Count &&
        TaggedAddresses.All(kv => o.TaggedAddresses.TryGetValue(kv.Key, out var v) && v == kv.Value) && SameMap(Meta, o.Meta);

    internal static bool SameMap(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
}

/// <summary>A key/value entry (Consul's <c>DirEntry</c>).</summary>
public sealed record KvEntry
{
    public required string Key { get; init; }
    public ulong Flags { get; init; }
    /// <summary>The value; null when the key was written with an empty body.</summary>
    public byte[]? Value { get; init; }
    /// <summary>The session holding the lock on this key, or null.</summary>
    public string? Session { get; init; }
    /// <summary>How many times the lock was acquired.</summary>
    public ulong LockIndex { get; init; }
    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }

    internal bool SameContent(KvEntry other) =>
        Flags == other.Flags && Session == other.Session && LockIndex == other.LockIndex &&
        (Value ?? []).AsSpan().SequenceEqual(other.Value ?? []);
}

/// <summary>The trace of a deleted key, kept so a prefix's index never goes backwards until it is reaped.</summary>
public sealed record Tombstone(string Key, ulong Index, DateTime DeletedAt);

/// <summary>What happens to the locks of a session when it is invalidated.</summary>
public enum SessionBehavior
{
    /// <summary>Locks are released; the keys stay.</summary>
    Release,
    /// <summary>Locked keys are deleted.</summary>
    Delete,
}

/// <summary>A service check a session depends on.</summary>
public sealed record ServiceCheckRef(string ID, string Namespace);

/// <summary>A session: a lease tied to a node, its health checks and an optional TTL.</summary>
public sealed record Session
{
    public required string ID { get; init; }
    public string Name { get; init; } = "";
    public required string Node { get; init; }
    public TimeSpan LockDelay { get; init; }
    public SessionBehavior Behavior { get; init; }
    /// <summary>TTL as the client wrote it (<c>"30s"</c>), or empty for none.</summary>
    public string TTL { get; init; } = "";
    public ImmutableArray<string> NodeChecks { get; init; } = [];
    public ImmutableArray<ServiceCheckRef> ServiceChecks { get; init; } = [];
    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }
}

/// <summary>A catalog node.</summary>
public sealed record Node
{
    public string ID { get; init; } = "";
    public required string Name { get; init; }
    public string Address { get; init; } = "";
    public string Datacenter { get; init; } = "";
    public ImmutableDictionary<string, string> TaggedAddresses { get; init; } = ImmutableDictionary<string, string>.Empty;
    public ImmutableDictionary<string, string> Meta { get; init; } = ImmutableDictionary<string, string>.Empty;
    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }
}

/// <summary>Health states, as Consul spells them.</summary>
public static class HealthStatus
{
    public const string Passing = "passing";
    public const string Warning = "warning";
    public const string Critical = "critical";
    public const string Maintenance = "maintenance";

    /// <summary>Whether a check may report <paramref name="status"/> (maintenance is set by the agent, not by checks).</summary>
    public static bool IsValid(string? status) => status is Passing or Warning or Critical;
}

/// <summary>A health check of a node, or of a service on it.</summary>
public sealed record HealthCheck
{
    public required string Node { get; init; }
    public required string CheckID { get; init; }
    public string Name { get; init; } = "";
    public string Status { get; init; } = HealthStatus.Critical;
    public string Notes { get; init; } = "";
    public string Output { get; init; } = "";
    public string ServiceID { get; init; } = "";
    public string ServiceName { get; init; } = "";
    public ImmutableArray<string> ServiceTags { get; init; } = [];
    public string Type { get; init; } = "";
    /// <summary>The check's definition as JSON (<c>Definition</c> in Consul's output), or null.</summary>
    public string? DefinitionJson { get; init; }
    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }

    internal string RowKey => RowKeyOf(Node, CheckID);
    internal static string RowKeyOf(string node, string checkId) => node + "\0" + checkId;

    internal bool SameContent(HealthCheck o) =>
        Name == o.Name && Status == o.Status && Notes == o.Notes && Output == o.Output && ServiceID == o.ServiceID &&
        ServiceName == o.ServiceName && ServiceTags.SequenceEqual(o.ServiceTags) && Type == o.Type && DefinitionJson == o.DefinitionJson;
}
