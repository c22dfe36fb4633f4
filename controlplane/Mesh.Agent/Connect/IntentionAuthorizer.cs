using Mesh.Ca.Identity;
using Mesh.Connect.Intentions;
using Mesh.State;
using Mesh.State.Tables;

namespace Mesh.Agent.Connect;

/// <summary>
/// Decides connections with intentions, as Consul's authorize endpoint does: the highest-precedence intention that
/// matches the source and destination decides (an L7 intention counts as a deny for a connection-level decision, since
/// only the proxy can look at requests); with none, <c>default_intention_policy</c> if set, else the ACL default
/// (allow: this version has no ACLs). The intention set is rebuilt only when config entries change.
/// </summary>
public sealed class IntentionAuthorizer(string defaultIntentionPolicy) : IConnectAuthorizer
{
    private volatile Snapshot? _snapshot;

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

    /// <summary>The intentions as of <paramref name="view"/>, built once per change of the config entries.</summary>
    public IntentionSet Current(StateView view)
    {
        var index = view.TableIndex(TableNames.ConfigEntries);
        var snapshot = _snapshot;
        if (snapshot is null || snapshot.Index != index)
        {
            snapshot = new Snapshot(index, IntentionSet.From(view));
            _snapshot = snapshot;
        }
        return snapshot.Set;
    }

    private sealed record Snapshot(ulong Index, IntentionSet Set);
}
