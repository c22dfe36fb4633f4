using System.Runtime.CompilerServices;
using Mesh.Agent.Server;
using Mesh.Connect.Entries;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Tables;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Connect;

/// <summary>Config entries kept changing under a write for every attempt it made (HTTP 409: try again).</summary>
internal sealed class ConfigEntryContentionException(int attempts)
    : Exception($"config entries kept changing while the write was validated ({attempts} attempts); try again");

/// <summary>
/// Writes and deletes config entries the way Consul's state store does: normalized, validated on their own and against
/// the whole graph of entries, then applied through the log. The graph a write was validated against travels in the
/// command as the config-entries table index, and the FSM refuses the command if the table moved since; the write is
/// then validated again over the newer graph. So two writes that are valid alone but not together (a router, and the
/// service's protocol turned to tcp) never both land, on one server or many.
/// </summary>
internal sealed partial class ConfigEntryWriter
{
    /// <summary>How many times a write is validated and proposed before it gives up on a graph that keeps moving.</summary>
    public const int MaxAttempts = 16;

    private readonly StateStore _store;
    private readonly StateWriter _writer;
    private readonly string _datacenter;
    private readonly ILogger _logger;
    // Writes through this agent take turns, so they only race writes from elsewhere; the graph index still guards those.
    private readonly SemaphoreSlim _gate = new(1, 1);
    // Rows are immutable and survive every commit that does not change them, so each is parsed once.
    private readonly ConditionalWeakTable<ConfigEntryRow, ConfigEntry> _parsed = new();

    /// <param name="store">Where entries are read from.</param>
    /// <param name="writer">Where writes go.</param>
    /// <param name="datacenter">This agent's datacenter (target IDs in validation messages name it).</param>
    /// <param name="logger">Logs writes that were refused or retried.</param>
    public ConfigEntryWriter(StateStore store, StateWriter writer, string datacenter, ILogger<ConfigEntryWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentException.ThrowIfNullOrEmpty(datacenter);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _writer = writer;
        _datacenter = datacenter;
        _logger = logger;
    }

    /// <summary>
    /// Creates or replaces <paramref name="entry"/>; with <paramref name="casIndex"/>, only if the stored entry's
    /// ModifyIndex is that (0: only if there is none).
    /// </summary>
    /// <returns>False when the check-and-set did not hold.</returns>
    /// <exception cref="ConfigEntryException">The entry, or the graph with it, is invalid.</exception>
    /// <exception cref="ConfigEntryContentionException">The graph changed under every attempt.</exception>
    public Task<bool> SetAsync(ConfigEntry entry, ulong? casIndex, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return SetAsync(EntryValidator.Normalize(entry), casIndex, EntryValidator.Validate, cancellationToken);
    }

    /// <summary>
    /// As <see cref="SetAsync(ConfigEntry, ulong?, CancellationToken)"/>, for the intentions API: its sources may
    /// carry the fields the legacy API keeps (<see cref="EntryValidator.ValidateIntentionsWrite"/>).
    /// </summary>
    /// <returns>False when the check-and-set did not hold.</returns>
    /// <exception cref="ConfigEntryException">The entry, or the graph with it, is invalid.</exception>
    /// <exception cref="ConfigEntryContentionException">The graph changed under every attempt.</exception>
    public Task<bool> SetIntentionsAsync(ServiceIntentionsEntry entry, ulong? casIndex, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return SetAsync(EntryValidator.Normalize(entry), casIndex,
            (e, existing, datacenter) => EntryValidator.ValidateIntentionsWrite((ServiceIntentionsEntry)e, existing, datacenter), cancellationToken);
    }

    private Task<bool> SetAsync(ConfigEntry normalized, ulong? casIndex, Action<ConfigEntry, IReadOnlyList<ConfigEntry>, string> validate,
        CancellationToken cancellationToken)
    {
        ConfigEntryRow? row = null;
        return ApplyAsync(normalized.Kind, normalized.Name,
            existing => validate(normalized, existing, _datacenter),
            // Serialized only once valid: an invalid entry may not even be writable as JSON (an infinite weight).
            graphIndex => new ConfigEntrySetCommand(
                row ??= new ConfigEntryRow { Kind = normalized.Kind, Name = normalized.Name, Json = EntryCodec.ToJson(normalized) }, casIndex, graphIndex),
            cancellationToken);
    }

    /// <summary>
    /// Deletes <paramref name="kind"/>/<paramref name="name"/> (absent is fine); with <paramref name="casIndex"/>, only if
    /// the stored entry's ModifyIndex is that.
    /// </summary>
    /// <returns>False when the check-and-set did not hold.</returns>
    /// <exception cref="ConfigEntryException">The kind is unknown, or the graph without the entry is invalid.</exception>
    /// <exception cref="ConfigEntryContentionException">The graph changed under every attempt.</exception>
    public Task<bool> DeleteAsync(string kind, string name, ulong? casIndex, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(name);
        return ApplyAsync(kind, name,
            existing => EntryValidator.ValidateDelete(kind, name, existing, _datacenter),
            graphIndex => new ConfigEntryDeleteCommand(kind, name, casIndex, graphIndex), cancellationToken);
    }

    /// <summary>The stored rows as entries (each row parsed once; a row that no longer parses is left out and logged).</summary>
    public IReadOnlyList<ConfigEntry> Entries(IReadOnlyList<ConfigEntryRow> rows)
    {
        var entries = new List<ConfigEntry>(rows.Count);
        foreach (var row in rows)
        {
            if (_parsed.TryGetValue(row, out var parsed))
            {
                entries.Add(parsed);
                continue;
            }
            try
            {
                parsed = EntryCodec.FromStored(row.Json);
            }
            catch (Exception ex) when (ex is ConfigEntryException or System.Text.Json.JsonException)
            {
                // An entry stored by another version that this one cannot read cannot be judged either; refusing every
                // write because of it would leave no way to repair it.
                LogUnreadable(row.Kind, row.Name, ex.Message);
                continue;
            }
            _parsed.AddOrUpdate(row, parsed);
            entries.Add(parsed);
        }
        return entries;
    }

    private async Task<bool> ApplyAsync(string kind, string name, Action<IReadOnlyList<ConfigEntry>> validate,
        Func<ulong, Command> command, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; attempt <= MaxAttempts; attempt++)
            {
                var (graphIndex, rows) = _store.View().ConfigEntryList();
                try
                {
                    validate(Entries(rows));
                }
                catch (ConfigEntryException ex)
                {
                    LogRefused(kind, name, ex.Message);
                    throw;
                }
                // The write is committed once proposed: a client that goes away must not leave it half-known.
                var (result, _) = await _writer.ApplyAsync(command(graphIndex), CancellationToken.None).ConfigureAwait(false);
                if (result.Error == ConfigEntryErrors.GraphChanged)
                {
                    LogRetry(kind, name, attempt);
                    continue;
                }
                if (result.Error is not null) throw new InvalidOperationException(result.Error);
                return result.Ok;
            }
            throw new ConfigEntryContentionException(MaxAttempts);
        }
        finally
        {
            _gate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "config entry {Kind}/{Name} refused: {Reason}")]
    private partial void LogRefused(string kind, string name, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "config entry {Kind}/{Name}: entries changed since validation (attempt {Attempt}), validating again")]
    private partial void LogRetry(string kind, string name, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "stored config entry {Kind}/{Name} cannot be read and is left out of validation: {Reason}")]
    private partial void LogUnreadable(string kind, string name, string reason);
}
