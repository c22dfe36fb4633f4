using System.Text.Json.Serialization;
using Mesh.State.Tables;

namespace Mesh.State.Commands;

/// <summary>
/// A write, as it travels through the replicated log. Everything the FSM needs travels inside it, including the
/// proposer's clock, so applying it is deterministic on every server.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$op")]
[JsonDerivedType(typeof(KvCommand), "kv")]
[JsonDerivedType(typeof(TxnCommand), "txn")]
[JsonDerivedType(typeof(SessionCreateCommand), "session-create")]
[JsonDerivedType(typeof(SessionDestroyCommand), "session-destroy")]
[JsonDerivedType(typeof(TombstoneReapCommand), "tombstone-reap")]
[JsonDerivedType(typeof(RegisterNodeCommand), "node-register")]
[JsonDerivedType(typeof(CatalogRegisterCommand), "catalog-register")]
[JsonDerivedType(typeof(CatalogDeregisterCommand), "catalog-deregister")]
[JsonDerivedType(typeof(PreparedQueryCreateCommand), "query-create")]
[JsonDerivedType(typeof(PreparedQueryUpdateCommand), "query-update")]
[JsonDerivedType(typeof(PreparedQueryDeleteCommand), "query-delete")]
[JsonDerivedType(typeof(CaSetCommand), "ca-set")]
[JsonDerivedType(typeof(ConfigEntrySetCommand), "config-set")]
[JsonDerivedType(typeof(ConfigEntryDeleteCommand), "config-delete")]
public abstract record Command
{
    /// <summary>The proposer's clock (UTC) when it proposed the command.</summary>
    public DateTime Now { get; init; }
}

/// <summary>Consul's KV verbs, as spelled on the wire.</summary>
public static class KvVerbs
{
    public const string Set = "set", Cas = "cas", Lock = "lock", Unlock = "unlock", Get = "get", GetOrEmpty = "get-or-empty",
        GetTree = "get-tree", CheckIndex = "check-index", CheckSession = "check-session", CheckNotExists = "check-not-exists",
        Delete = "delete", DeleteTree = "delete-tree", DeleteCas = "delete-cas";

    /// <summary>Every verb.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
        { Set, Cas, Lock, Unlock, Get, GetOrEmpty, GetTree, CheckIndex, CheckSession, CheckNotExists, Delete, DeleteTree, DeleteCas };

    /// <summary>Verbs that only read.</summary>
    public static readonly IReadOnlySet<string> ReadOnly = new HashSet<string>(StringComparer.Ordinal)
        { Get, GetOrEmpty, GetTree, CheckIndex, CheckSession, CheckNotExists };
}

/// <summary>One KV operation. <see cref="Index"/> is the CAS or check index; <see cref="Session"/> the lock holder.</summary>
public sealed record KvOp(string Verb, string Key, byte[]? Value = null, ulong Flags = 0, ulong Index = 0, string? Session = null);

/// <summary>A single KV write from <c>/v1/kv</c>: answers true or false.</summary>
public sealed record KvCommand(KvOp Op) : Command;

/// <summary>An atomic transaction: every operation applies, or none does.</summary>
public sealed record TxnCommand(IReadOnlyList<KvOp> Ops) : Command;

/// <summary>Creates a session (the ID is chosen by the proposer).</summary>
public sealed record SessionCreateCommand(Session Session) : Command;

/// <summary>Destroys a session, releasing or deleting its locks.</summary>
public sealed record SessionDestroyCommand(string ID) : Command;

/// <summary>Removes tombstones created at or before <see cref="Index"/>.</summary>
public sealed record TombstoneReapCommand(ulong Index) : Command;

/// <summary>Registers a node with its node-level checks (an agent registering itself).</summary>
public sealed record RegisterNodeCommand(Node Node, IReadOnlyList<HealthCheck> Checks) : Command;

/// <summary>
/// <c>/v1/catalog/register</c>: a node (unless <paramref name="SkipNodeUpdate"/> and it exists), optionally one service
/// instance on it, and checks of the node or of that service.
/// </summary>
public sealed record CatalogRegisterCommand(Node Node, ServiceInstance? Service, IReadOnlyList<HealthCheck> Checks, bool SkipNodeUpdate) : Command;

/// <summary>
/// <c>/v1/catalog/deregister</c>: a service instance and/or a check of the node, or the whole node when neither is named.
/// </summary>
public sealed record CatalogDeregisterCommand(string Node, string? ServiceID, string? CheckID) : Command;

/// <summary>Creates a prepared query; the proposer chooses its ID (a new UUID), so every server stores the same one.</summary>
public sealed record PreparedQueryCreateCommand(PreparedQuery Query) : Command;

/// <summary>Replaces the prepared query with <c>Query.ID</c>, which must exist.</summary>
public sealed record PreparedQueryUpdateCommand(PreparedQuery Query) : Command;

/// <summary>Deletes a prepared query, which must exist.</summary>
public sealed record PreparedQueryDeleteCommand(string ID) : Command;

/// <summary>
/// Sets the Connect CA configuration and roots together. <see cref="CasIndex"/>, when given, must equal the
/// configuration's current <c>ModifyIndex</c> (0: no configuration yet), or nothing changes and the result is false.
/// </summary>
public sealed record CaSetCommand(CaConfiguration Config, IReadOnlyList<CaRoot> Roots, ulong? CasIndex) : Command;

/// <summary>
/// Creates or replaces a config entry (validated by the proposer); with <see cref="CasIndex"/>, only if its ModifyIndex
/// matches (0: absent). With <see cref="GraphIndex"/>, only if the config-entries table is still at that index: the
/// proposer validated the write against the whole graph of entries as of that index, and a write that landed in between
/// could make the pair invalid together; otherwise the result's error is <see cref="ConfigEntryErrors.GraphChanged"/>.
/// </summary>
public sealed record ConfigEntrySetCommand(ConfigEntryRow Entry, ulong? CasIndex, ulong? GraphIndex = null) : Command;

/// <summary>Deletes a config entry; with <see cref="CasIndex"/>, only if its ModifyIndex matches; <see cref="GraphIndex"/> as for a set.</summary>
public sealed record ConfigEntryDeleteCommand(string Kind, string Name, ulong? CasIndex, ulong? GraphIndex = null) : Command;

/// <summary>Errors config entry commands answer with.</summary>
public static class ConfigEntryErrors
{
    /// <summary>The entries changed after the proposer validated the write against them: validate again and retry.</summary>
    public const string GraphChanged = "config entries changed since the write was validated";
}

/// <summary>One result of a transaction operation: the entry it read or wrote (writes report no value).</summary>
public sealed record TxnResult(KvEntry KV);

/// <summary>Why a transaction operation failed.</summary>
public sealed record TxnError(int OpIndex, string What);

/// <summary>What the FSM answers to a command.</summary>
/// <param name="Ok">The write took effect (false: a CAS, lock or check did not hold).</param>
/// <param name="Error">The write was refused outright (an unknown session...).</param>
public sealed record CommandResult(bool Ok, string? Error = null, IReadOnlyList<TxnResult>? Results = null, IReadOnlyList<TxnError>? Errors = null)
{
    public static readonly CommandResult True = new(true);
    public static readonly CommandResult False = new(false);
}
