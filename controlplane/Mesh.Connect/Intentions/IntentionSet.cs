using Mesh.Connect.Entries;
using Mesh.State;

namespace Mesh.Connect.Intentions;

/// <summary>
/// One intention: a source may (or may not) reach a destination, at L4 (<see cref="Action"/>) or L7
/// (<see cref="Permissions"/>). Intentions live as the sources of <c>service-intentions</c> entries, one entry per
/// destination; this is the flat form the legacy API and the decisions use.
/// </summary>
public sealed record IntentionRule(string Source, string Destination, string Action, IReadOnlyList<IntentionPermission> Permissions,
    int Precedence, string Description, string LegacyId, IReadOnlyDictionary<string, string> Meta, DateTime? CreatedAt, DateTime? UpdatedAt,
    ulong CreateIndex, ulong ModifyIndex)
{
    /// <summary>Whether this is an L7 intention (permissions instead of an action).</summary>
    public bool IsL7 => Permissions.Count > 0;

    /// <summary>Consul's description of an intention, as authorize reasons show it.</summary>
    public override string ToString() =>
        $"default/{Source} => default/{Destination} (Precedence: {Precedence}" + (IsL7 ? ")" : $", Action: {Action.ToUpperInvariant()})");
}

/// <summary>
/// Every intention, ordered as Consul orders them: precedence descending (exact beats wildcard), then source and
/// destination names. Answers "which intentions match" and "which one decides" in time proportional to the matching
/// intentions, not to all of them.
/// </summary>
public sealed class IntentionSet
{
    private readonly Dictionary<string, List<IntentionRule>> _byDestination = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<IntentionRule>> _bySource = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IntentionRule> _byId = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Builds the set from <c>service-intentions</c> entries with their indexes.</summary>
    public IntentionSet(IEnumerable<(ServiceIntentionsEntry Entry, ulong CreateIndex, ulong ModifyIndex)> entries)
    {
        var all = new List<IntentionRule>();
        foreach (var (entry, create, modify) in entries)
        {
            foreach (var s in entry.Sources ?? [])
            {
                // As Consul presents them: an intention the legacy API made has its own metadata; one written by
                // name (or in the entry) shows the metadata of the entry it lives in.
                IReadOnlyDictionary<string, string> meta = s.LegacyID.Length > 0
                    ? s.LegacyMeta ?? NoMeta
                    : entry.Meta ?? NoMeta;
                all.Add(new IntentionRule(s.Name, entry.Name, s.Action.ToLowerInvariant(), s.Permissions ?? [], Precedence.Of(s.Name, entry.Name),
                    s.Description, s.LegacyID, meta, s.LegacyCreateTime, s.LegacyUpdateTime, create, modify));
            }
        }
        all.Sort(Compare);
        All = all;
        foreach (var rule in all)
        {
            Bucket(_byDestination, rule.Destination).Add(rule);
            Bucket(_bySource, rule.Source).Add(rule);
            if (rule.LegacyId.Length > 0) _byId.TryAdd(rule.LegacyId, rule);
        }
    }

    private static readonly IReadOnlyDictionary<string, string> NoMeta = new Dictionary<string, string>();

    /// <summary>Reads the set from the store's <c>service-intentions</c> entries.</summary>
    public static IntentionSet From(StateView view) => new(view.ConfigEntryList(EntryKinds.ServiceIntentions).Entries
        .Select(row => ((ServiceIntentionsEntry)EntryCodec.FromStored(row.Json), row.CreateIndex, row.ModifyIndex)));

    /// <summary>Every intention, in Consul's order.</summary>
    public IReadOnlyList<IntentionRule> All { get; }

    /// <summary>The intention for exactly this pair (no wildcard expansion), or null.</summary>
    public IntentionRule? Exact(string source, string destination) =>
        _byDestination.GetValueOrDefault(destination)?.FirstOrDefault(r => r.Source == source);

    /// <summary>The intention the legacy API made with this ID (compared as a UUID, regardless of case), or null.</summary>
    public IntentionRule? ById(string id) => _byId.GetValueOrDefault(id);

    /// <summary>
    /// The intentions that apply to <paramref name="name"/> as a destination (<paramref name="byDestination"/>) or as a
    /// source: those naming it and those with <c>*</c> there, in precedence order.
    /// </summary>
    public IReadOnlyList<IntentionRule> Match(string name, bool byDestination)
    {
        var index = byDestination ? _byDestination : _bySource;
        var named = name == Precedence.Wildcard ? [] : index.GetValueOrDefault(name) ?? [];
        var wildcard = index.GetValueOrDefault(Precedence.Wildcard) ?? [];
        return named.Concat(wildcard).OrderBy(r => r, Comparer<IntentionRule>.Create(Compare)).ToList();
    }

    /// <summary>The intention that decides a connection from <paramref name="source"/> to <paramref name="destination"/>, or null.</summary>
    public IntentionRule? Decide(string source, string destination)
    {
        IntentionRule? best = null;
        foreach (var list in (IEnumerable<List<IntentionRule>?>)[_byDestination.GetValueOrDefault(destination), _byDestination.GetValueOrDefault(Precedence.Wildcard)])
        {
            if (list is null) continue;
            foreach (var rule in list)
            {
                if (rule.Source != source && rule.Source != Precedence.Wildcard) continue;
                // Each list is already in precedence order: its first match is its best.
                if (best is null || Compare(rule, best) < 0) best = rule;
                break;
            }
        }
        return best;
    }

    /// <summary>Consul's order: precedence descending, deny before allow, then source and destination names.</summary>
    public static int Compare(IntentionRule a, IntentionRule b)
    {
        var c = b.Precedence.CompareTo(a.Precedence);
        if (c != 0) return c;
        c = (a.Action == "deny" ? 0 : 1).CompareTo(b.Action == "deny" ? 0 : 1);
        if (c != 0) return c;
        c = string.CompareOrdinal(a.Source, b.Source);
        return c != 0 ? c : string.CompareOrdinal(a.Destination, b.Destination);
    }

    private static List<IntentionRule> Bucket(Dictionary<string, List<IntentionRule>> index, string key)
    {
        if (!index.TryGetValue(key, out var list)) index[key] = list = [];
        return list;
    }
}

/// <summary>Intention precedence without namespaces: how exact the source and destination are.</summary>
public static class Precedence
{
    /// <summary>The wildcard name.</summary>
    public const string Wildcard = "*";

    /// <summary>9 exact→exact, 8 *→exact, 6 exact→*, 5 *→*.</summary>
    public static int Of(string source, string destination) => (source == Wildcard, destination == Wildcard) switch
    {
        (false, false) => 9,
        (true, false) => 8,
        (false, true) => 6,
        (true, true) => 5,
    };
}
