using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Tests.Tls;
using Mesh.Sidecar.Upstreams;

namespace Mesh.Sidecar.Tests.Upstreams;

public class ClusterManagerTests
{
    private readonly StateHolder _state = new();
    private readonly SidecarMetrics _metrics = new();
    private readonly ManualTime _time = new();
    private readonly ClusterManager _clusters;

    public ClusterManagerTests() => _clusters = new ClusterManager(_state, _metrics, time: _time);

    private void Publish(ClusterConfig[] clusters, params ClusterLoadAssignmentConfig[] endpoints) =>
        _state.Publish(States.With(clusters: clusters, endpoints: endpoints));

    private int PickPort(string cluster, LbContext context = default)
    {
        using var lease = _clusters.Pick(cluster, context) ?? throw new InvalidOperationException("no endpoint");
        return lease.Endpoint.Address.Port;
    }

    [Fact]
    public void Pick_RoundRobinWithWeights_FollowsWeightsInterleaved()
    {
        Publish([States.EdsCluster("c")], States.Assignment("c", States.Endpoint(1, weight: 5), States.Endpoint(2), States.Endpoint(3)));

        var picks = Enumerable.Range(0, 700).Select(_ => PickPort("c")).ToList();

        Assert.Equal(500, picks.Count(p => p == 1));
        Assert.Equal(100, picks.Count(p => p == 2));
        Assert.Equal(100, picks.Count(p => p == 3));
        // Smooth: the heavy endpoint never takes its five turns in one run.
        var longest = 0;
        var run = 0;
        foreach (var port in picks)
        {
            run = port == 1 ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        Assert.True(longest < 5, $"longest run {longest}");
    }

    [Fact]
    public void Pick_UnhealthyAndDrainingEndpoints_AreNeverPicked()
    {
        Publish([States.EdsCluster("c")], States.Assignment("c",
            States.Endpoint(1), States.Endpoint(2, health: EndpointHealth.Unhealthy), States.Endpoint(3, health: EndpointHealth.Draining)));

        Assert.All(Enumerable.Range(0, 50), _ => Assert.Equal(1, PickPort("c")));
    }

    [Fact]
    public void Pick_NoServingEndpointAtPriorityZero_UsesNextPriority()
    {
        Publish([States.EdsCluster("c")], States.Assignment("c",
            States.Endpoint(1, health: EndpointHealth.Unhealthy), States.Endpoint(2, priority: 1), States.Endpoint(3, priority: 2)));

        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(2, PickPort("c")));
    }

    [Fact]
    public void Pick_NoServingEndpointAtAll_ReturnsNull()
    {
        Publish([States.EdsCluster("c")], States.Assignment("c", States.Endpoint(1, health: EndpointHealth.Unhealthy)));

        Assert.Null(_clusters.Pick("c", default));
        Assert.Null(_clusters.Pick("unknown", default));
    }

    [Fact]
    public void Pick_LeastRequest_PrefersTheIdleEndpoint()
    {
        Publish([States.EdsCluster("c", LbPolicy.LeastRequest)], States.Assignment("c", States.Endpoint(1), States.Endpoint(2)));
        using var busy = _clusters.Pick("c", default)!;
        var idle = busy.Endpoint.Address.Port == 1 ? 2 : 1;

        // Each of these is released at once, so the other endpoint stays the less loaded one.
        Assert.All(Enumerable.Range(0, 30), _ => Assert.Equal(idle, PickPort("c")));

        // Once both carry one request, both are chosen again.
        using var second = _clusters.Pick("c", default)!;
        Assert.Equal(idle, second.Endpoint.Address.Port);
        Assert.Equal(2, Enumerable.Range(0, 60).Select(_ => PickPort("c")).Distinct().Count());
    }

    [Fact]
    public void Pick_LeastRequestAfterEndpointUpdate_KeepsCountsOfHeldLeases()
    {
        Publish([States.EdsCluster("c", LbPolicy.LeastRequest)], States.Assignment("c", States.Endpoint(1), States.Endpoint(2)));
        using var held = _clusters.Pick("c", default)!;
        var busyPort = held.Endpoint.Address.Port;

        // A new assignment instance rebuilds the runtime; the held lease's count carries over by address.
        Publish([_state.Current.Clusters["c"]], States.Assignment("c", States.Endpoint(1), States.Endpoint(2), States.Endpoint(3)));

        Assert.All(Enumerable.Range(0, 30), _ => Assert.NotEqual(busyPort, PickPort("c")));
    }

    [Fact]
    public void Pick_AggregateWhoseFirstChildHasNoEndpoint_FailsOverToSecondChild()
    {
        Publish([States.Aggregate("db", "failover-target~0~db", "failover-target~1~db"), States.EdsCluster("failover-target~0~db"), States.EdsCluster("failover-target~1~db")],
            States.Assignment("failover-target~0~db", States.Endpoint(1, health: EndpointHealth.Unhealthy)),
            States.Assignment("failover-target~1~db", States.Endpoint(2)));

        using var lease = _clusters.Pick("db", default)!;

        Assert.Equal("failover-target~1~db", lease.Cluster.Name);
        Assert.Equal(2, lease.Endpoint.Address.Port);
    }

    [Fact]
    public void Pick_AggregateWhoseFirstChildServes_UsesFirstChild()
    {
        Publish([States.Aggregate("db", "a", "b"), States.EdsCluster("a"), States.EdsCluster("b")],
            States.Assignment("a", States.Endpoint(1)), States.Assignment("b", States.Endpoint(2)));

        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal(1, PickPort("db")));
    }

    [Fact]
    public void Pick_ExcludedEndpoint_IsAvoidedWhileAnotherServes()
    {
        Publish([States.EdsCluster("c")], States.Assignment("c", States.Endpoint(1), States.Endpoint(2)));
        var first = States.Endpoint(1).Address;

        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal(2, PickPort("c", new LbContext(Exclude: first))));

        Publish([States.EdsCluster("single")], States.Assignment("single", States.Endpoint(1)));
        Assert.Equal(1, PickPort("single", new LbContext(Exclude: first)));
    }

    [Fact]
    public void Report_ConsecutiveFailures_EjectsForBaseTimeThenReturns()
    {
        var outlier = new OutlierDetectionConfig(3, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), 50);
        Publish([States.EdsCluster("c", outlier: outlier)], States.Assignment("c", States.Endpoint(1), States.Endpoint(2)));
        var failing = Enumerable.Range(0, 4).Select(_ => _clusters.Pick("c", default)!).First(l => l.Endpoint.Address.Port == 1);
        failing.Report(false);
        failing.Report(false);
        Assert.Contains(1, Enumerable.Range(0, 10).Select(_ => PickPort("c")));

        failing.Report(false);
        failing.Dispose();

        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(2, PickPort("c")));
        Assert.Equal(1, _metrics.OutlierEjections.With("c").Value);

        // The other endpoint fails as much, but ejecting it too would put 100 % of the cluster out (50 % allowed).
        using (var other = _clusters.Pick("c", default)!)
        {
            for (var i = 0; i < 3; i++) other.Report(false);
        }

        Assert.Equal(1, _metrics.OutlierEjections.With("c").Value);
        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal(2, PickPort("c")));

        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.Contains(1, Enumerable.Range(0, 10).Select(_ => PickPort("c")));
    }

    [Fact]
    public void Report_SuccessBetweenFailures_ResetsTheCount()
    {
        var outlier = new OutlierDetectionConfig(2, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), 100);
        Publish([States.EdsCluster("c", outlier: outlier)], States.Assignment("c", States.Endpoint(1), States.Endpoint(2)));
        using var lease = _clusters.Pick("c", default)!;

        lease.Report(false);
        lease.Report(true);
        lease.Report(false);

        Assert.Equal(0, _metrics.OutlierEjections.With("c").Value);
    }

    [Fact]
    public void Pick_MaxRequestsInFlight_RefusesAndCountsOverflow()
    {
        Publish([States.EdsCluster("c", breakers: new CircuitBreakerConfig(1024, 1024, 2))], States.Assignment("c", States.Endpoint(1), States.Endpoint(2)));
        var first = _clusters.Pick("c", default)!;
        using var second = _clusters.Pick("c", default)!;

        Assert.Null(_clusters.Pick("c", default));
        Assert.Equal(1, _metrics.UpstreamOverflow.With("c").Value);

        first.Dispose();
        first.Dispose();
        using var third = _clusters.Pick("c", default);
        Assert.NotNull(third);
        Assert.Null(_clusters.Pick("c", default));
    }

    [Theory]
    [InlineData("RingHash")]
    [InlineData("Maglev")]
    public void Pick_ConsistentHash_SameHashSameEndpointAndHashesSpread(string policy)
    {
        Publish([States.EdsCluster("c", Enum.Parse<LbPolicy>(policy))], States.Assignment("c", States.Endpoint(1), States.Endpoint(2), States.Endpoint(3)));

        var pinned = PickPort("c", new LbContext(Hash: 0x1234_5678_9abc_def0));
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(pinned, PickPort("c", new LbContext(Hash: 0x1234_5678_9abc_def0))));
        var spread = Enumerable.Range(0, 300).Select(i => PickPort("c", new LbContext(Hash: Sidecar.Upstreams.Hashing.Mix((ulong)i)))).GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(3, spread.Count);
        Assert.All(spread.Values, count => Assert.InRange(count, 40, 200));

        // Without a hash the pick is random, but still a serving endpoint.
        Assert.InRange(PickPort("c"), 1, 3);
    }

    [Fact]
    public void Pick_RingHashWithPinnedEndpointGone_MovesOnlyItsKeys()
    {
        Publish([States.EdsCluster("c", LbPolicy.RingHash)], States.Assignment("c", States.Endpoint(1), States.Endpoint(2), States.Endpoint(3)));
        var before = Enumerable.Range(0, 200).Select(i => PickPort("c", new LbContext(Hash: Sidecar.Upstreams.Hashing.Mix((ulong)i)))).ToList();

        Publish([_state.Current.Clusters["c"]], States.Assignment("c", States.Endpoint(1), States.Endpoint(2)));
        var after = Enumerable.Range(0, 200).Select(i => PickPort("c", new LbContext(Hash: Sidecar.Upstreams.Hashing.Mix((ulong)i)))).ToList();

        for (var i = 0; i < before.Count; i++)
        {
            if (before[i] != 3) Assert.Equal(before[i], after[i]);
        }
    }

    [Fact]
    public void Find_KnownAndUnknownCluster_ReturnsConfigOrNull()
    {
        Publish([States.EdsCluster("c")]);

        Assert.Equal("c", _clusters.Find("c")?.Name);
        Assert.Null(_clusters.Find("d"));
    }
}

/// <summary>A clock the test moves.</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _ticks = TimeSpan.TicksPerDay;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
