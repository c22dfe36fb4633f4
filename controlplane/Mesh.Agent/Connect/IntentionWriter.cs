using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.State;
using Mesh.State.Tables;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Connect;

/// <summary>The intention a write names by ID does not exist (HTTP 404); the message is Consul's.</summary>
internal sealed class IntentionNotFoundException(string message) : Exception(message);

/// <summary>
/// One intention as the intentions API takes it in a body (Consul's <c>structs.Intention</c>, the fields Mesh
/// uses). Which fields count depends on the route: the exact route takes its names from the query.
/// </summary>
internal sealed record IntentionInput
{
    public string SourceNS { get; init; } = "";
    public string SourceName { get; init; } = "";
    public string SourcePartition { get; init; } = "";
    public string DestinationNS { get; init; } = "";
    public string DestinationName { get; init; } = "";
    public string DestinationPartition { get; init; } = "";
    public string SourceType { get; init; } = "";
    public string Action { get; init; } = "";
    public string Description { get; init; } = "";
    public IReadOnlyDictionary<string, string> Meta { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<IntentionPermission> Permissions { get; init; } = [];
}

/// <summary>
/// Writes single intentions into the <c>service-intentions</c> entry of their destination, as Consul's intention
/// endpoints do: upsert and delete by source and destination, and the legacy create, update and delete by ID. Each
/// write reads the destination's entry, changes one source and proposes the whole entry through
/// <see cref="ConfigEntryWriter"/> (so every rule of a config-entry write applies, the graph check included) with a
/// check-and-set on the entry's <c>ModifyIndex</c>. A writer that lost the race to another (on this agent or any
/// other) reads again and retries, so concurrent writes to one destination never lose each other's sources.
/// </summary>
internal sealed partial class IntentionWriter
{
    /// <summary>How many times a write re-reads and retries when other writes keep changing its entry.</summary>
    public const int MaxAttempts = 64;

    private readonly StateStore _store;
    private readonly ConfigEntryWriter _entries;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <param name="store">Where entries are read from.</param>
    /// <param name="entries">Where whole entries are validated and written.</param>
    /// <param name="time">The clock of the legacy API's create and update times.</param>
    /// <param name="logger">Logs retried writes.</param>
    public IntentionWriter(StateStore store, ConfigEntryWriter entries, TimeProvider time, ILogger<IntentionWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _entries = entries;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Creates or replaces the intention from <paramref name="source"/> to <paramref name="destination"/> (Consul's
    /// <c>PUT /v1/connect/intentions/exact</c>), keeping every other source of the destination as it is. The new
    /// source is one written by name: it has no ID, and its metadata is the entry's, so <c>Meta</c> may only be
    /// absent or repeat the entry's (as Consul requires).
    /// </summary>
    /// <exception cref="ConfigEntryException">The intention, or the entry with it, is invalid.</exception>
    /// <exception cref="ConfigEntryContentionException">The entry kept changing under every attempt.</exception>
    public Task UpsertAsync(string source, string destination, IntentionInput input, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentNullException.ThrowIfNull(input);
        return WriteAsync(destination, view =>
        {
            var (row, entry) = Read(view, destination);
            if (input.Meta.Count > 0)
            {
                if (entry is null) throw new ConfigEntryException("Meta must not be specified");
                if (!SameMeta(entry.Meta, input.Meta)) throw new ConfigEntryException("Meta must not be specified, or should be unchanged during an update.");
            }
            var value = new IntentionSource
            {
                Name = source,
                Action = input.Action,
                Permissions = input.Permissions.Count == 0 ? null : [.. input.Permissions],
                Description = input.Description,
                Type = input.SourceType,
            };
            var sources = entry?.Sources?.ToList() ?? [];
            var at = sources.FindIndex(s => s.Name == source && s.Peer.Length == 0);
            if (at >= 0) sources[at] = value;
            else sources.Add(value);
            var updated = entry is null ? new ServiceIntentionsEntry { Name = destination, Sources = sources } : entry with { Sources = sources };
            return (Change.Set(updated, row?.ModifyIndex ?? 0), true);
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes the intention from <paramref name="source"/> to <paramref name="destination"/> (Consul's
    /// <c>DELETE /v1/connect/intentions/exact</c>); deleting the last source deletes the entry. Deleting what does
    /// not exist is not an error.
    /// </summary>
    /// <returns>Whether there was such an intention.</returns>
    /// <exception cref="ConfigEntryException">The entry without it would break the graph.</exception>
    /// <exception cref="ConfigEntryContentionException">The entry kept changing under every attempt.</exception>
    public Task<bool> DeleteAsync(string source, string destination, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        return WriteAsync(destination, view =>
        {
            var (row, entry) = Read(view, destination);
            if (row is null || entry is null) return (Change.None, false);
            var sources = entry.Sources?.ToList() ?? [];
            var removed = sources.RemoveAll(s => s.Name == source && s.Peer.Length == 0);
            if (removed == 0) return (Change.None, false);
            return (Without(row, entry, sources), true);
        }, cancellationToken);
    }

    /// <summary>
    /// Creates an intention the legacy way (Consul's <c>POST /v1/connect/intentions</c>): a new source of the
    /// destination's entry with a generated ID, its create and update times and its own metadata. A second
    /// intention for the same source and destination is refused (the entry may name a source only once).
    /// </summary>
    /// <returns>The new intention's ID.</returns>
    /// <exception cref="ConfigEntryException">The intention, or the entry with it, is invalid.</exception>
    /// <exception cref="ConfigEntryContentionException">The entry kept changing under every attempt.</exception>
    public Task<string> CreateLegacyAsync(IntentionInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ValidateLegacy(input);
        var id = Guid.NewGuid().ToString();
        return WriteAsync(input.DestinationName, view =>
        {
            var (row, entry) = Read(view, input.DestinationName);
            var now = Now();
            var sources = entry?.Sources?.ToList() ?? [];
            sources.Add(LegacySource(input, id, created: now, updated: now));
            var updated = entry is null ? new ServiceIntentionsEntry { Name = input.DestinationName, Sources = sources } : entry with { Sources = sources };
            return (Change.Set(updated, row?.ModifyIndex ?? 0), id);
        }, cancellationToken);
    }

    /// <summary>
    /// Replaces the intention with ID <paramref name="id"/> (Consul's <c>PUT /v1/connect/intentions/&lt;id&gt;</c>):
    /// same ID and create time, a new update time, everything else from <paramref name="input"/>. The source may
    /// change; the destination may not.
    /// </summary>
    /// <exception cref="IntentionNotFoundException">No intention has that ID.</exception>
    /// <exception cref="ConfigEntryException">The intention, or the entry with it, is invalid.</exception>
    /// <exception cref="ConfigEntryContentionException">The entry kept changing under every attempt.</exception>
    public Task UpdateLegacyAsync(string id, IntentionInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(input);
        return WriteByIdAsync(id, $"Cannot modify non-existent intention: '{id}'", (row, entry, at) =>
        {
            if (input.DestinationName != entry.Name)
                throw new ConfigEntryException("Cannot modify Destination partition/namespace/name for an intention once it exists.");
            ValidateLegacy(input);
            var old = entry.Sources![at];
            var sources = entry.Sources.ToList();
            sources[at] = LegacySource(input, old.LegacyID, created: old.LegacyCreateTime ?? Now(), updated: Now());
            return Change.Set(entry with { Sources = sources }, row.ModifyIndex);
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes the intention with ID <paramref name="id"/> (Consul's <c>DELETE /v1/connect/intentions/&lt;id&gt;</c>);
    /// deleting the last source deletes the entry.
    /// </summary>
    /// <exception cref="IntentionNotFoundException">No intention has that ID.</exception>
    /// <exception cref="ConfigEntryException">The entry without it would break the graph.</exception>
    /// <exception cref="ConfigEntryContentionException">The entry kept changing under every attempt.</exception>
    public Task DeleteLegacyAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return WriteByIdAsync(id, $"Cannot delete non-existent intention: '{id}'", (row, entry, at) =>
        {
            var sources = entry.Sources!.ToList();
            sources.RemoveAt(at);
            return Without(row, entry, sources);
        }, cancellationToken);
    }

    /// <summary>
    /// Checks a legacy intention as Consul's <c>Intention.Validate</c> does, with its messages (the first problem
    /// found), plus what Mesh cannot store: another namespace or partition, or L7 permissions.
    /// </summary>
    /// <exception cref="ConfigEntryException">The intention is invalid.</exception>
    public static void ValidateLegacy(IntentionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.SourceName.Length == 0) throw new ConfigEntryException("SourceName must be set");
        if (input.DestinationName.Length == 0) throw new ConfigEntryException("DestinationName must be set");
        if (PartialWildcard(input.SourceName)) throw new ConfigEntryException("SourceName: wildcard character '*' cannot be used with partial values");
        if (PartialWildcard(input.DestinationName)) throw new ConfigEntryException("DestinationName: wildcard character '*' cannot be used with partial values");
        Tenancy(input.SourceNS, "SourceNS");
        Tenancy(input.DestinationNS, "DestinationNS");
        Tenancy(input.SourcePartition, "SourcePartition");
        Tenancy(input.DestinationPartition, "DestinationPartition");
        if (input.Description.Length > 512) throw new ConfigEntryException("Description exceeds maximum length 512");
        if (input.Meta.Count > 64) throw new ConfigEntryException("Meta exceeds maximum element count 64");
        foreach (var (key, value) in input.Meta.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (key.Length > 128) throw new ConfigEntryException($"Meta key {EntryValidator.Quote(key)} exceeds maximum length 128");
            if (value.Length > 512) throw new ConfigEntryException($"Meta value for key {EntryValidator.Quote(key)} exceeds maximum length 512");
        }
        if (input.Permissions.Count > 0)
            throw new ConfigEntryException("Permissions cannot be set through the legacy intentions API; use PUT /v1/connect/intentions/exact or a service-intentions config entry");
        if (input.Action is not ("allow" or "deny")) throw new ConfigEntryException("Action must be set to 'allow' or 'deny'");
        if (input.SourceType is not ("" or "consul")) throw new ConfigEntryException("SourceType must be set to 'consul'");
    }

    private static bool PartialWildcard(string name) => name != Precedence.Wildcard && name.Contains('*', StringComparison.Ordinal);

    private static void Tenancy(string value, string field)
    {
        if (value.Length > 0 && value != "default")
            throw new ConfigEntryException($"{field} {EntryValidator.Quote(value)} is not supported: only the \"default\" namespace and partition exist");
    }

    private IntentionSource LegacySource(IntentionInput input, string id, DateTime created, DateTime updated) => new()
    {
        Name = input.SourceName,
        Action = input.Action,
        Description = input.Description,
        Type = input.SourceType,
        LegacyID = id,
        LegacyMeta = input.Meta.Count == 0 ? null : new Dictionary<string, string>(input.Meta, StringComparer.Ordinal),
        LegacyCreateTime = created,
        LegacyUpdateTime = updated,
    };

    private DateTime Now() => _time.GetUtcNow().UtcDateTime;

    private static bool SameMeta(IReadOnlyDictionary<string, string>? a, IReadOnlyDictionary<string, string> b) =>
        (a?.Count ?? 0) == b.Count && b.All(p => a!.TryGetValue(p.Key, out var v) && v == p.Value);

    /// <summary>The entry left with <paramref name="sources"/>: deleted when none are left, as Consul does.</summary>
    private static Change Without(ConfigEntryRow row, ServiceIntentionsEntry entry, List<IntentionSource> sources) =>
        sources.Count == 0 ? Change.Delete(entry.Name, row.ModifyIndex) : Change.Set(entry with { Sources = sources }, row.ModifyIndex);

    private static (ConfigEntryRow? Row, ServiceIntentionsEntry? Entry) Read(StateView view, string destination)
    {
        var (_, row) = view.ConfigEntryGet(EntryKinds.ServiceIntentions, destination);
        return row is null ? (null, null) : (row, (ServiceIntentionsEntry)EntryCodec.FromStored(row.Json));
    }

    private Task WriteByIdAsync(string id, string notFound, Func<ConfigEntryRow, ServiceIntentionsEntry, int, Change> change,
        CancellationToken cancellationToken) =>
        WriteAsync(null, view =>
        {
            foreach (var row in view.ConfigEntryList(EntryKinds.ServiceIntentions).Entries)
            {
                if (_entries.Entries([row]) is not [ServiceIntentionsEntry entry]) continue;
                var at = entry.Sources?.FindIndex(s => string.Equals(s.LegacyID, id, StringComparison.OrdinalIgnoreCase)) ?? -1;
                if (at >= 0) return (change(row, entry, at), true);
            }
            throw new IntentionNotFoundException(notFound);
        }, cancellationToken);

    /// <summary>
    /// Reads, decides and writes until the write lands: a check-and-set that failed means another write changed the
    /// entry in between, so the change is worked out again from the newer entry.
    /// </summary>
    private async Task<T> WriteAsync<T>(string? destination, Func<StateView, (Change Change, T Result)> decide, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var (change, result) = decide(_store.View());
            var landed = change.Kind switch
            {
                ChangeKind.Set => await _entries.SetIntentionsAsync(change.Entry!, change.CasIndex, cancellationToken).ConfigureAwait(false),
                ChangeKind.Delete => await _entries.DeleteAsync(EntryKinds.ServiceIntentions, change.Name, change.CasIndex, cancellationToken).ConfigureAwait(false),
                _ => true,
            };
            if (landed) return result;
            LogRetry(destination ?? change.Name, attempt);
        }
        throw new ConfigEntryContentionException(MaxAttempts);
    }

    private enum ChangeKind
    {
        None,
        Set,
        Delete,
    }

    /// <summary>What one attempt writes: the whole entry or its deletion, each checked against the ModifyIndex it was read at.</summary>
    private readonly record struct Change(ChangeKind Kind, ServiceIntentionsEntry? Entry, string Name, ulong CasIndex)
    {
        public static Change None => default;

        public static Change Set(ServiceIntentionsEntry entry, ulong casIndex) => new(ChangeKind.Set, entry, entry.Name, casIndex);

        public static Change Delete(string name, ulong casIndex) => new(ChangeKind.Delete, null, name, casIndex);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "intentions of {Destination} changed under a write (attempt {Attempt}), reading them again")]
    private partial void LogRetry(string destination, int attempt);
}
