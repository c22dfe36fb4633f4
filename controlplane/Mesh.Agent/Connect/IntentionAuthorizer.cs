using System.Runtime.CompilerServices;
using Mesh.Ca.Identity;
using Mesh.Connect.Entries;
using Mesh.Connect.Intentions;
using Mesh.State;
using Mesh.State.Tables;

namespace Mesh.Agent.Connect;

/// <summary>
/// Decides connections with intentions, as Consul's authorize endpoint does: the highest-precedence intention that
/// matches the source and destination decides (an L7 intention counts as a deny for a connection-level decision, since
/// only the proxy can look at requests); with none, <c>default_intention_policy</c> if set, else the ACL default
/// (allow: this version has no ACLs). The intention set is rebuilt only when config entries change, by one thread
/// while the others wait for it, and from the rules of each stored entry kept until that entry changes: a write
/// costs the decisions after it one sort of the rules, not a parse of every entry.
/// </summary>
public sealed class IntentionAuthorizer(string defaultIntentionPolicy) : IConnectAuthorizer
{
    private volatile Snapshot? _snapshot;
    private readonly Lock _rebuild = new();
    // Rows are immutable and survive every commit that does not change them, so each is read once.
    private readonly ConditionalWeakTable<ConfigEntryRow, IReadOnlyList<IntentionRule>> _rules = new();

    /// <inheritdoc/>
    public AuthorizeDecision Authorize(StateView view, SpiffeId source, string destination)
    {
        var set = Current(view);
        if (set.Decide(source.Name, destination) is { } match)
            return match.IsL7
                ? new AuthorizeDecision(false, $"Matched L7 intention: {match}")
                : new AuthorizeDecision(match.Action == "allow", $"Matched L4 intention: {match}");
        if (defaultIntentionPolicy.Length > 0) return new AuthorizeDecision(defaultIntentionPolicy == "allow", "Default intention policy");
        return new AuthorizeDecision(true, "Default behavior configured by ACLs");
    }

    /// <summary>
    /// The intentions as of <paramref name="view"/> (or a newer view), built once per change of the config entries.
    /// </summary>
    public IntentionSet Current(StateView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var index = view.TableIndex(TableNames.ConfigEntries);
        var snapshot = _snapshot;
        if (snapshot is not null && snapshot.Index >= index) return snapshot.Set;
        // One rebuild at a time: the requests that arrive meanwhile wait for it rather than each building the same set.
        lock (_rebuild)
        {
            snapshot = _snapshot;
            if (snapshot is not null && snapshot.Index >= index) return snapshot.Set;
            var rows = view.ConfigEntryList(EntryKinds.ServiceIntentions).Entries;
            var set = new IntentionSet(rows.Select(row => _rules.GetValue(row,
                static r => IntentionSet.RulesOf((ServiceIntentionsEntry)EntryCodec.FromStored(r.Json), r.CreateIndex, r.ModifyIndex))));
            _snapshot = new Snapshot(index, set);
            return set;
        }
    }

    private sealed record Snapshot(ulong Index, IntentionSet Set);
}
