using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Mesh.Xds.Cache;
using Mesh.Xds.ProxyCfg;

namespace Mesh.Xds.Resources;

/// <summary>What translating one snapshot gave: the resources, and the problems the builders reported.</summary>
/// <param name="Resources">Every resource of the proxy, serialised.</param>
/// <param name="Problems">Configuration the builders had to leave out (bad <c>envoy_*_json</c>...), one line each.</param>
internal sealed record Translation(ResourceSnapshot Resources, IReadOnlyList<string> Problems);

/// <summary>
/// Turns one proxy's successive <see cref="ConfigSnapshot"/>s into cache resources, doing as little work as the change
/// needs: when only endpoints moved (the common case: an instance came, went or changed health) the proxy's other
/// resources are reused as they are and only its load assignments are looked up. Assignments are made once per
/// (cluster, endpoint group) for every proxy at once, since proxies that share an upstream share its group object:
/// ten thousand proxies of one service cost one serialisation of the new assignment, not ten thousand.
/// </summary>
internal sealed class SnapshotTranslator
{
    private readonly AssignmentCache _assignments;
    private ConfigSnapshot? _last;
    private ResourceSnapshot? _lastResources;
    private IReadOnlyList<Resource> _static = [];
    private IReadOnlyList<string> _problems = [];
    // Which (upstream, target) each EDS cluster takes its endpoints from: fixed while only endpoints change.
    private IReadOnlyList<(string Cluster, int Upstream, string Target)> _eds = [];

    /// <param name="assignments">The assignment cache shared by every proxy's translator.</param>
    public SnapshotTranslator(AssignmentCache assignments) => _assignments = assignments;

    /// <summary>Translates <paramref name="snapshot"/>, the next snapshot of this translator's proxy.</summary>
    public Translation Translate(ConfigSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (_last is not null && _lastResources is not null && SameExceptEndpoints(_last, snapshot))
        {
            // Only endpoints moved: every other type is shared with the last snapshot as it is.
            _lastResources = _lastResources.WithType(TypeUrls.Endpoint, Assignments(snapshot));
        }
        else
        {
            Rebuild(snapshot);
            _lastResources = ResourceSnapshot.FromResources([.. _static, .. Assignments(snapshot)]);
        }
        _last = snapshot;
        return new Translation(_lastResources, _problems);
    }

    /// <summary>Builds every resource but the load assignments, and remembers where each EDS cluster's endpoints come from.</summary>
    private void Rebuild(ConfigSnapshot snapshot)
    {
        var problems = new List<string>();
        var resources = new List<Resource>();
        foreach (var secret in SecretBuilder.Build(snapshot)) resources.Add(Resource.Create(secret));
        var clusters = ClusterBuilder.Build(snapshot);
        problems.AddRange(clusters.Errors);
        foreach (var cluster in clusters.Clusters) resources.Add(Resource.Create(cluster));
        var listeners = ListenerBuilder.Build(snapshot);
        problems.AddRange(listeners.Problems);
        foreach (var listener in listeners.Listeners) resources.Add(Resource.Create(listener));
        foreach (var route in RouteBuilder.Build(snapshot)) resources.Add(Resource.Create(route));

        var eds = new List<(string, int, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var cluster in ClusterBuilder.EdsClusters(snapshot))
        {
            if (seen.Add(cluster.Name)) eds.Add((cluster.Name, IndexOf(snapshot.Upstreams, cluster.Upstream), cluster.Target.ID));
        }
        _static = resources;
        _problems = problems;
        _eds = eds;
    }

    private List<Resource> Assignments(ConfigSnapshot snapshot)
    {
        var assignments = new List<Resource>(_eds.Count);
        foreach (var (cluster, upstream, target) in _eds)
        {
            var group = snapshot.Upstreams[upstream].Endpoints.GetValueOrDefault(target) ?? EndpointGroup.Empty;
            assignments.Add(_assignments.Get(cluster, group));
        }
        return assignments;
    }

    private static int IndexOf(IReadOnlyList<UpstreamSnapshot> upstreams, UpstreamSnapshot upstream)
    {
        for (var i = 0; i < upstreams.Count; i++)
            if (ReferenceEquals(upstreams[i], upstream)) return i;
        throw new InvalidOperationException($"cluster plan names upstream {upstream.Name}, which the snapshot lacks");
    }

    /// <summary>
    /// Whether two snapshots differ at most in their endpoint groups: everything but load assignments is then the
    /// same. Shared parts compare by reference, as <see cref="SnapshotComparer"/> does.
    /// </summary>
    private static bool SameExceptEndpoints(ConfigSnapshot a, ConfigSnapshot b)
    {
        if (a.Upstreams.Count != b.Upstreams.Count) return false;
        for (var i = 0; i < a.Upstreams.Count; i++)
        {
            var (x, y) = (a.Upstreams[i], b.Upstreams[i]);
            if (x.Name != y.Name || x.BindAddress != y.BindAddress || x.BindPort != y.BindPort || x.Protocol != y.Protocol
                || !ReferenceEquals(x.Chain, y.Chain) || x.ConnectTimeout != y.ConnectTimeout || x.Limits != y.Limits
                || x.PassiveHealthCheck != y.PassiveHealthCheck)
                return false;
        }
        return SnapshotComparer.Same(a, b with { Upstreams = a.Upstreams });
    }
}

/// <summary>
/// Load assignments keyed by (cluster name, endpoint group object): groups are immutable and shared between proxies,
/// so an assignment made for one proxy serves every other proxy with the same cluster and group. Entries live as long
/// as their group does (a weak table), so a group no snapshot holds any more takes its assignments with it.
/// </summary>
internal sealed class AssignmentCache
{
    private readonly ConditionalWeakTable<EndpointGroup, ConcurrentDictionary<string, Resource>> _byGroup = new();

    /// <summary>Assignments made (a measure of how well sharing works: one per group change and cluster, ideally).</summary>
    public long Made => Interlocked.Read(ref _made);

    private long _made;

    /// <summary>The assignment of <paramref name="group"/> as cluster <paramref name="clusterName"/>, serialised.</summary>
    public Resource Get(string clusterName, EndpointGroup group)
    {
        var byName = _byGroup.GetValue(group, static _ => new ConcurrentDictionary<string, Resource>(StringComparer.Ordinal));
        if (byName.TryGetValue(clusterName, out var resource)) return resource;
        resource = Resource.Create(EndpointBuilder.Assignment(clusterName, group));
        Interlocked.Increment(ref _made);
        return byName.GetOrAdd(clusterName, resource);
    }
}
