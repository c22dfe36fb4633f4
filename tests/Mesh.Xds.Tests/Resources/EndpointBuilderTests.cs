using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Resources;
using static Mesh.Xds.Tests.Resources.SnapshotFixtures;

namespace Mesh.Xds.Tests.Resources;

/// <summary>Load assignments: one per EDS cluster, one weighted locality, health and weights.</summary>
public sealed class EndpointBuilderTests
{
    [Fact]
    public void Golden_SidecarTcp() => GoldenFiles.Assert("endpoints-sidecar-tcp", EndpointBuilder.Build(SidecarTcp()));

    [Fact]
    public void Golden_SidecarHttp() => GoldenFiles.Assert("endpoints-sidecar-http", EndpointBuilder.Build(SidecarHttp()));

    [Fact]
    public void Golden_Proxyless() => GoldenFiles.Assert("endpoints-proxyless", EndpointBuilder.Build(Proxyless()));

    [Theory]
    [MemberData(nameof(Snapshots))]
    public void Build_OneAssignmentPerEdsCluster_SameNames(string name)
    {
        var snapshot = Snapshot(name);
        var eds = ClusterBuilder.Build(snapshot).Clusters
            .Where(c => c.Type == Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Eds && c.ClusterType is null)
            .Select(c => c.Name);

        Assert.Equal(eds, EndpointBuilder.Build(snapshot).Select(a => a.ClusterName));
    }

    public static TheoryData<string> Snapshots() => new() { "tcp", "http", "proxyless" };

    private static ConfigSnapshot Snapshot(string name) => name switch
    {
        "tcp" => SidecarTcp(),
        "http" => SidecarHttp(),
        _ => Proxyless(),
    };

    [Fact]
    public void Assignment_OneLocalityOfWeightOne_HealthAndWeightPerInstance()
    {
        var assignment = EndpointBuilder.Build(SidecarTcp()).Single();

        Assert.Equal(Sni("db.default.dc1"), assignment.ClusterName);
        var locality = Assert.Single(assignment.Endpoints);
        Assert.Equal(1u, locality.LoadBalancingWeight);
        Assert.NotNull(locality.Locality);
        Assert.Collection(locality.LbEndpoints,
            e =>
            {
                Assert.Equal(("10.0.0.2", 21000u), (e.Endpoint.Address.SocketAddress.Address, e.Endpoint.Address.SocketAddress.PortValue));
                Assert.Equal(HealthStatus.Healthy, e.HealthStatus);
                Assert.Equal(1u, e.LoadBalancingWeight);
            },
            e =>
            {
                Assert.Equal("10.0.0.3", e.Endpoint.Address.SocketAddress.Address);
                Assert.Equal(HealthStatus.Unhealthy, e.HealthStatus);
            });
    }

    [Fact]
    public void Assignment_EmptyGroup_NoEndpoints()
    {
        var assignment = EndpointBuilder.Assignment("c", EndpointGroup.Empty);

        Assert.Equal("c", assignment.ClusterName);
        Assert.Empty(assignment.Endpoints);
    }

    [Fact]
    public void Assignment_MissingTargetEntry_TreatedAsEmpty()
    {
        var snapshot = SnapshotFixtures.Sidecar([DbUpstream() with { Endpoints = new Dictionary<string, EndpointGroup>() }]);

        Assert.Empty(Assert.Single(EndpointBuilder.Build(snapshot)).Endpoints);
    }

    [Fact]
    public void Assignment_ZeroWeight_UnhealthyWithWeightOne_LargeWeightCapped()
    {
        var assignment = EndpointBuilder.Assignment("c", SnapshotFixtures.Group(
            new ServiceEndpoint("a", 1, true, 0), new ServiceEndpoint("b", 2, true, 500), new ServiceEndpoint("c", 3, true, 7)));

        var endpoints = Assert.Single(assignment.Endpoints).LbEndpoints;
        Assert.Equal((HealthStatus.Unhealthy, 1u), (endpoints[0].HealthStatus, endpoints[0].LoadBalancingWeight));
        Assert.Equal((HealthStatus.Healthy, 128u), (endpoints[1].HealthStatus, endpoints[1].LoadBalancingWeight));
        Assert.Equal((HealthStatus.Healthy, 7u), (endpoints[2].HealthStatus, endpoints[2].LoadBalancingWeight));
    }

    [Fact]
    public void Build_Failover_EachChildFilledFromItsOwnTarget()
    {
        var assignments = EndpointBuilder.Build(SidecarHttp()).ToDictionary(a => a.ClusterName);
        var primary = Sni("v1.api.default.dc1");

        Assert.False(assignments.ContainsKey(primary));
        Assert.Equal(["10.0.1.1", "10.0.1.2"], Addresses(assignments[$"failover-target~0~{primary}"]));
        Assert.Equal(["10.1.1.1"], Addresses(assignments[$"failover-target~1~{primary}"]));
        Assert.Empty(assignments[Sni("admin.default.dc1")].Endpoints);
    }

    [Fact]
    public void Build_CustomAssign_CalledWithTheSharedGroupObject()
    {
        var shared = SnapshotFixtures.Group(new ServiceEndpoint("10.9.9.9", 1, true, 1));
        var snapshot = SnapshotFixtures.Sidecar([DbUpstream() with { Endpoints = new Dictionary<string, EndpointGroup> { ["db.default.dc1"] = shared } }]);
        var calls = new List<(string, EndpointGroup)>();
        var memo = new ClusterLoadAssignment { ClusterName = "memo" };

        var result = EndpointBuilder.Build(snapshot, (name, group) => { calls.Add((name, group)); return memo; });

        var call = Assert.Single(calls);
        Assert.Equal(Sni("db.default.dc1"), call.Item1);
        Assert.Same(shared, call.Item2);
        Assert.Same(memo, Assert.Single(result));
    }

    private static IEnumerable<string> Addresses(ClusterLoadAssignment assignment) =>
        assignment.Endpoints.SelectMany(l => l.LbEndpoints).Select(e => e.Endpoint.Address.SocketAddress.Address);
}
