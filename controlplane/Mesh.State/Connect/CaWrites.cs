using System.Collections.Immutable;
using Mesh.State.Tables;

namespace Mesh.State;

// The CA's configuration and roots change together: a rotation writes the new configuration, the new active root and
// the old root made inactive in one command, so no reader ever sees a configuration without its root.
internal sealed partial class WriteTxn
{
    /// <summary>
    /// Replaces the CA configuration and the set of roots. With <paramref name="casIndex"/> non-zero the write happens only
    /// if the configuration's <c>ModifyIndex</c> is still that (0 means "only if none exists"), so two writers cannot
    /// both rotate. Returns false when that check fails. A write that changes nothing moves no index.
    /// </summary>
    /// <exception cref="StoreException">The roots are not a valid set (none or several active, duplicate IDs).</exception>
    public bool CaSet(CaConfiguration config, IReadOnlyList<CaRoot> roots, ulong? casIndex)
    {
        if (casIndex is { } expected && (Root.CaConfig?.ModifyIndex ?? 0) != expected) return false;
        if (roots.Count(r => r.Active) != 1) throw new StoreException("exactly one CA root must be active");
        if (roots.Select(r => r.ID).Distinct(StringComparer.Ordinal).Count() != roots.Count) throw new StoreException("CA root IDs must be unique");

        var existing = Root.CaConfig;
        if (existing is null || !existing.SameAs(config))
        {
            Root = Root with { CaConfig = config with { CreateIndex = existing?.CreateIndex ?? Index, ModifyIndex = Index } };
            Changed(TableNames.CaConfig, "");
        }

        var old = Root.CaRoots.ToDictionary(r => r.ID, StringComparer.Ordinal);
        var next = ImmutableArray.CreateBuilder<CaRoot>(roots.Count);
        var changed = old.Count != roots.Count;
        foreach (var r in roots)
        {
            if (old.TryGetValue(r.ID, out var prior) && prior.SameAs(r))
            {
                next.Add(prior);
                continue;
            }
            changed = true;
            next.Add(r with { CreateIndex = prior?.CreateIndex ?? Index, ModifyIndex = Index });
        }
        if (changed)
        {
            Root = Root with { CaRoots = next.ToImmutable() };
            Changed(TableNames.CaRoots, "");
        }
        return true;
    }
}
