namespace Mesh.Xds.ProxyCfg;

/// <summary>
/// Whether two snapshots of one proxy would configure it the same way. Shared parts (chains, endpoint groups, the
/// trust bundle, intention rules) are compared by reference: their caches hand back the same object while content
/// is unchanged, which makes the common case (a wake-up caused by an unrelated write) a handful of pointer compares.
/// </summary>
internal static class SnapshotComparer
{
    public static bool Same(ConfigSnapshot? a, ConfigSnapshot? b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a is null || b is null) return false;
        return a.Mode == b.Mode && a.ProxyId == b.ProxyId && a.ProxyName == b.ProxyName && a.Datacenter == b.Datacenter
            && a.TrustDomain == b.TrustDomain && a.Local == b.Local && a.Leaf == b.Leaf && a.DefaultAllow == b.DefaultAllow
            && a.Settings == b.Settings && ReferenceEquals(a.Roots, b.Roots)
            && SameItems(a.Intentions, b.Intentions) && SameUpstreams(a.Upstreams, b.Upstreams);
    }

    private static bool SameItems<T>(IReadOnlyList<T> a, IReadOnlyList<T> b) where T : class
    {
        if (a.Count != b.Count) return false;
        for (var i = 0; i < a.Count; i++)
            if (!ReferenceEquals(a[i], b[i])) return false;
        return true;
    }

    private static bool SameUpstreams(IReadOnlyList<UpstreamSnapshot> a, IReadOnlyList<UpstreamSnapshot> b)
    {
        if (a.Count != b.Count) return false;
        for (var i = 0; i < a.Count; i++)
        {
            var (x, y) = (a[i], b[i]);
            if (x.Name != y.Name || x.BindAddress != y.BindAddress || x.BindPort != y.BindPort || x.Protocol != y.Protocol
                || !ReferenceEquals(x.Chain, y.Chain) || x.ConnectTimeout != y.ConnectTimeout || x.Limits != y.Limits
                || x.PassiveHealthCheck != y.PassiveHealthCheck || x.Endpoints.Count != y.Endpoints.Count)
                return false;
            foreach (var (id, group) in x.Endpoints)
                if (!y.Endpoints.TryGetValue(id, out var other) || !ReferenceEquals(group, other)) return false;
        }
        return true;
    }
}
