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
/// intentions, not to all of them. Built from each entry's rules (<see cref="RulesOf"/>, already in order), so
/// building a set is one dictionary insert per destination; the global order, the index by source and the index by
/// ID are made the first time something asks for them.
/// </summary>
public sealed class IntentionSet
{
    private readonly Dictionary<string, IReadOnlyList<IntentionRule>> _byDestination = new(StringComparer.Ordinal);
    private readonly Lazy<List<IntentionRule>> _all;
    private readonly Lazy<Dictionary<string, List<IntentionRule>>> _bySource;
    private readonly Lazy<Dictionary<string, IntentionRule>> _byId;

    /// <summary>Builds the set from <c>service-intentions</c> entries with their indexes.</summary>
    public IntentionSet(IEnumerable<(ServiceIntentionsEntry Entry, ulong CreateIndex, ulong ModifyIndex)> entries)
        : this(entries.Select(e => RulesOf(e.Entry, e.CreateIndex, e.ModifyIndex)))
    {
    }

    /// <summary>
    /// Builds the set from the rules of each entry, as <see cref="RulesOf"/> makes them, so a caller that keeps them
    /// per stored entry rebuilds the set after a change without reading the entries that did not change.
    /// </summary>
    public IntentionSet(IEnumerable<IReadOnlyList<IntentionRule>> rulesPerEntry)
    {
        ArgumentNullException.ThrowIfNull(rulesPerEntry);
        foreach (var rules in rulesPerEntry)
            if (rules.Count > 0) _byDestination[rules[0].Destination] = rules;
        _all = new Lazy<List<IntentionRule>>(() =>
        {
            var all = _byDestination.Values.SelectMany(r => r).ToList();
            all.Sort(Compare);
            return all;
        });
        _bySource = new Lazy<Dictionary<string, List<IntentionRule>>>(() =>
        {
            var index = new Dictionary<string, List<IntentionRule>>(StringComparer.Ordinal);
            foreach (var rule in _all.Value)
            {
                if (!index.TryGetValue(rule.Source, out var list)) index[rule.Source] = list = [];
                list.Add(rule);
            }
            return index;
        });
        _byId = new Lazy<Dictionary<string, IntentionRule>>(() =>
        {
            var index = new Dictionary<string, IntentionRule>(StringComparer.OrdinalIgnoreCase);
            foreach (var rule in _all.Value)
                if (rule.LegacyId.Length > 0) index.TryAdd(rule.LegacyId, rule);
            return index;
        });
    }

    /// <summary>Reads the set from the store's <c>service-intentions</c> entries.</summary>
    public static IntentionSet From(StateView view) => new(view.ConfigEntryList(EntryKinds.ServiceIntentions).Entries
        .Select(row => ((ServiceIntentionsEntry)EntryCodec.FromStored(row.Json), row.CreateIndex, row.ModifyIndex)));

    private static readonly IReadOnlyDictionary<string, string> NoMeta = new Dictionary<string, string>();

    /// <summary>The intentions one <c>service-intentions</c> entry holds, one per source, in Consul's order.</summary>
    public static IReadOnlyList<IntentionRule> RulesOf(ServiceIntentionsEntry entry, ulong createIndex, ulong modifyIndex)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var rules = new List<IntentionRule>(entry.Sources?.Count ?? 0);
        foreach (var s in entry.Sources ?? [])
        {
            // As Consul presents them: an intention the legacy API made has its own metadata; one written by name
            // (or in the entry) shows the metadata of the entry it lives in.
            IReadOnlyDictionary<string, string> meta = s.LegacyID.Length > 0
                ? s.LegacyMeta ?? NoMeta
                : entry.Meta ?? NoMeta;
            rules.Add(new IntentionRule(s.Name, entry.Name, s.Action.ToLowerInvariant(), s.Permissions ?? [], Precedence.Of(s.Name, entry.Name),
                s.Description, s.LegacyID, meta, s.LegacyCreateTime, s.LegacyUpdateTime, createIndex, modifyIndex));
        }
        rules.Sort(Compare);
        return rules;
    }

    /// <summary>Every intention, in Consul's order.</summary>
    public IReadOnlyList<IntentionRule> All => _all.Value;

    /// <summary>The intention for exactly this pair (no wildcard expansion), or null.</summary>
    public IntentionRule? Exact(string source, string destination)
    {
        if (!_byDestination.TryGetValue(destination, out var rules)) return null;
        for (var i = 0; i < rules.Count; i++)
            if (rules[i].Source == source) return rules[i];
        return null;
    }

    /// <summary>The intention the legacy API made with this ID (compared as a UUID, regardless of case), or null.</summary>
    public IntentionRule? ById(string id) => _byId.Value.GetValueOrDefault(id);

    /// <summary>
    /// The intentions that apply to <paramref name="name"/> as a destination (<paramref name="byDestination"/>) or as a
    /// source: those naming it and those with <c>*</c> there, in precedence order.
    /// </summary>
    public IReadOnlyList<IntentionRule> Match(string name, bool byDestination)
    {
        IReadOnlyList<IntentionRule> Of(string key) => byDestination
            ? _byDestination.GetValueOrDefault(key) ?? []
            : _bySource.Value.GetValueOrDefault(key) ?? (IReadOnlyList<IntentionRule>)[];
        var named = name == Precedence.Wildcard ? [] : Of(name);
        return named.Concat(Of(Precedence.Wildcard)).OrderBy(r => r, Comparer<IntentionRule>.Create(Compare)).ToList();
    }

    /// <summary>The intention that decides a connection from <paramref name="source"/> to <paramref name="destination"/>, or null.</summary>
    public IntentionRule? Decide(string source, string destination)
    {
        var best = FirstMatch(_byDestination.GetValueOrDefault(destination), source);
        var wildcard = FirstMatch(_byDestination.GetValueOrDefault(Precedence.Wildcard), source);
        return best is null || (wildcard is not null && Compare(wildcard, best) < 0) ? wildcard : best;
    }

    /// <summary>The first rule of a destination's list that applies to <paramref name="source"/>: the list is in precedence order, so it is the best.</summary>
    private static IntentionRule? FirstMatch(IReadOnlyList<IntentionRule>? rules, string source)
    {
        if (rules is null) return null;
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (rule.Source == source || rule.Source == Precedence.Wildcard) return rule;
        }
        return null;
    }

    /// <summary>Consul's order: precedence descending, deny before allow, then source and destination names.</summary>
    public static int Compare(IntentionRule a, IntentionRule b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var c = b.Precedence.CompareTo(a.Precedence);
        if (c != 0) return c;
        c = (a.Action == "deny" ? 0 : 1).CompareTo(b.Action == "deny" ? 0 : 1);
        if (c != 0) return c;
        c = string.CompareOrdinal(a.Source, b.Source);
        return c != 0 ? c : string.CompareOrdinal(a.Destination, b.Destination);
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
