using System.Collections.Immutable;
using Mesh.State.Queries;
using Mesh.State.Tables;

namespace Mesh.State;

/// <summary>
/// One immutable version of the whole store. A commit builds a new root from the old one (sharing what did not
/// change) and publishes it with a single reference swap, so readers never block and never see half a write.
/// </summary>
internal sealed record StoreRoot
{
    public static readonly StoreRoot Empty = new();

    /// <summary>The last log index applied to this version.</summary>
    public ulong Index { get; init; }
    public OrderedTable<KvEntry> Kv { get; init; } = OrderedTable<KvEntry>.Empty;
    public OrderedTable<Tombstone> Tombstones { get; init; } = OrderedTable<Tombstone>.Empty;
    /// <summary>Keys each session holds a lock on: lets invalidation avoid a scan of the whole KV table.</summary>
    public ImmutableDictionary<string, ImmutableSortedSet<string>> KvBySession { get; init; } =
        ImmutableDictionary.Create<string, ImmutableSortedSet<string>>(StringComparer.Ordinal);
    /// <summary>
    /// Keys whose lock was lost with a session, and when they may be locked again. Not part of snapshots: like
    /// Consul's, lock-delay is a safety margin on the servers' clocks, not replicated state.
    /// </summary>
    public ImmutableDictionary<string, DateTime> LockDelays { get; init; } = ImmutableDictionary.Create<string, DateTime>(StringComparer.Ordinal);
    public OrderedTable<Session> Sessions { get; init; } = OrderedTable<Session>.Empty;
    public OrderedTable<Node> Nodes { get; init; } = OrderedTable<Node>.Empty;
    public OrderedTable<HealthCheck> Checks { get; init; } = OrderedTable<HealthCheck>.Empty;
    /// <summary>Service instances keyed by node and service ID, so a node's services are one prefix range.</summary>
    public OrderedTable<ServiceInstance> Services { get; init; } = OrderedTable<ServiceInstance>.Empty;
    /// <summary>Row keys of the instances of each service name: derived, rebuilt on restore.</summary>
    public ImmutableDictionary<string, ImmutableSortedSet<string>> ServicesByName { get; init; } =
        ImmutableDictionary.Create<string, ImmutableSortedSet<string>>(StringComparer.Ordinal);
    public OrderedTable<PreparedQuery> PreparedQueries { get; init; } = OrderedTable<PreparedQuery>.Empty;
    /// <summary>Prepared-query IDs by lower-cased name (names are unique regardless of case): derived, rebuilt on restore.</summary>
    public ImmutableDictionary<string, string> QueryNames { get; init; } = ImmutableDictionary.Create<string, string>(StringComparer.Ordinal);
    /// <summary>Compiled templates by query ID: derived, rebuilt on restore, so a lookup never compiles a regexp.</summary>
    public ImmutableDictionary<string, QueryTemplate> QueryTemplates { get; init; } = ImmutableDictionary.Create<string, QueryTemplate>(StringComparer.Ordinal);
    /// <summary>Prepared-query IDs tied to each session: derived, so ending a session finds its queries without a scan.</summary>
    public ImmutableDictionary<string, ImmutableSortedSet<string>> QueriesBySession { get; init; } =
        ImmutableDictionary.Create<string, ImmutableSortedSet<string>>(StringComparer.Ordinal);
    /// <summary>The Connect CA's configuration (null until the CA is initialized).</summary>
    public CaConfiguration? CaConfig { get; init; }
    /// <summary>The Connect CA's roots: one active, and rotated-out ones until their leaves expire.</summary>
    public ImmutableArray<CaRoot> CaRoots { get; init; } = [];
    /// <summary>Config entries keyed <c>kind/name</c>.</summary>
    public OrderedTable<ConfigEntryRow> ConfigEntries { get; init; } = OrderedTable<ConfigEntryRow>.Empty;
    /// <summary>Per table, the log index of the last commit that changed it.</summary>
    public ImmutableDictionary<string, ulong> TableIndexes { get; init; } = ImmutableDictionary.Create<string, ulong>(StringComparer.Ordinal);

    public ulong TableIndex(string table) => TableIndexes.GetValueOrDefault(table);
}
