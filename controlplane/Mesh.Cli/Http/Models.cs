using System.Text.Json.Serialization;

namespace Mesh.Cli.Http;

/// <summary>
/// A KV entry, with the fields in the order of Consul's Go <c>api.KVPair</c> so the JSON <c>mesh watch</c> prints
/// matches <c>consul watch</c>'s.
/// </summary>
internal sealed record KvPair
{
    private readonly string _session = "";

    public string Key { get; init; } = "";
    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }
    public ulong LockIndex { get; init; }
    public ulong Flags { get; init; }

    /// <summary>The raw value; base64 in JSON, null for an entry without one.</summary>
    public byte[]? Value { get; init; }

    /// <summary>The session holding the lock on the key, "" when none (never null, as in Go).</summary>
    public string Session { get => _session; init => _session = value ?? ""; }
}

/// <summary>One entry of <c>kv export</c> / <c>kv import</c> (Consul's <c>impexp.Entry</c>).</summary>
internal sealed record ExportEntry
{
    [JsonPropertyName("key")] public string? Key { get; init; }
    [JsonPropertyName("flags")] public ulong Flags { get; init; }
    [JsonPropertyName("value")] public string? Value { get; init; }
}

/// <summary>The body of <c>PUT /v1/session/create</c>; unset fields are omitted so the agent applies its defaults.</summary>
internal sealed record SessionCreateRequest
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Name { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? LockDelay { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Behavior { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? TTL { get; init; }
}

/// <summary>The <c>{"ID": "..."}</c> answer of session create.</summary>
internal sealed record SessionIdResponse
{
    public string ID { get; init; } = "";
}

/// <summary>The part of a session the CLI reads back (renew may report a longer TTL).</summary>
internal sealed record SessionEntry
{
    public string ID { get; init; } = "";
    public string? Name { get; init; }
    public string? TTL { get; init; }
}

/// <summary>A user event, fields in the order of Consul's <c>api.UserEvent</c>.</summary>
internal sealed record UserEvent
{
    public string ID { get; init; } = "";
    public string Name { get; init; } = "";
    public byte[]? Payload { get; init; }
    public string NodeFilter { get; init; } = "";
    public string ServiceFilter { get; init; } = "";
    public string TagFilter { get; init; } = "";
    public int Version { get; init; }
    public ulong LTime { get; init; }
}

/// <summary>A gossip pool member from <c>/v1/agent/members</c>.</summary>
internal sealed record AgentMember
{
    public string Name { get; init; } = "";
    public string Addr { get; init; } = "";
    public ushort Port { get; init; }
    public Dictionary<string, string>? Tags { get; init; }
    public int Status { get; init; }
}

/// <summary>
/// The coordination record a semaphore keeps at <c>&lt;prefix&gt;/.lock</c>, as Consul's api semaphore writes it:
/// <c>{"Limit":n,"Holders":{"&lt;session&gt;":true}}</c> (holders sorted, as Go marshals maps).
/// </summary>
internal sealed record SemaphoreState
{
    public int Limit { get; init; }
    public SortedDictionary<string, bool> Holders { get; init; } = new(StringComparer.Ordinal);
}

/// <summary><c>mesh version -format=json</c>, laid out as <c>consul version -format=json</c>.</summary>
internal sealed record VersionInfo
{
    public string Version { get; init; } = "";
    public string Revision { get; init; } = "";
    public string Prerelease { get; init; } = "";
    public DateTime BuildDate { get; init; }
    public RpcVersionInfo RPC { get; init; } = new();
}

/// <summary>The RPC protocol range in <see cref="VersionInfo"/>.</summary>
internal sealed record RpcVersionInfo
{
    public int Default { get; init; }
    public int Min { get; init; }
    public int Max { get; init; }
}

/// <summary>A node from <c>/v1/catalog/nodes</c> (the fields <c>catalog nodes</c> prints).</summary>
internal sealed record CatalogNode
{
    public string ID { get; init; } = "";
    public string Node { get; init; } = "";
    public string Address { get; init; } = "";
    public string Datacenter { get; init; } = "";
    public Dictionary<string, string>? TaggedAddresses { get; init; }
    public Dictionary<string, string>? Meta { get; init; }
}

/// <summary>One instance from <c>/v1/catalog/service/&lt;name&gt;</c>: the node-side fields only.</summary>
internal sealed record CatalogServiceEntry
{
    public string ID { get; init; } = "";
    public string Node { get; init; } = "";
    public string Address { get; init; } = "";
    public string Datacenter { get; init; } = "";
    public Dictionary<string, string>? TaggedAddresses { get; init; }
    public Dictionary<string, string>? NodeMeta { get; init; }
}

/// <summary><c>/v1/catalog/node/&lt;node&gt;</c>: the node's services keyed by service ID.</summary>
internal sealed record CatalogNodeServices
{
    public Dictionary<string, CatalogNodeService?>? Services { get; init; }
}

/// <summary>A service instance on a node, as far as <c>catalog services -node</c> needs it.</summary>
internal sealed record CatalogNodeService
{
    public string Service { get; init; } = "";
    public List<string>? Tags { get; init; }
}

/// <summary>An agent-local check from <c>/v1/agent/checks</c> (the fields <c>maint</c> reads).</summary>
internal sealed record AgentCheck
{
    public string CheckID { get; init; } = "";
    public string ServiceID { get; init; } = "";
    public string Notes { get; init; } = "";
}
