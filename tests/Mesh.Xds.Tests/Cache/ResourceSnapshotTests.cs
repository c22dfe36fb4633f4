using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Google.Protobuf;
using Mesh.Xds.Cache;
using static Mesh.Xds.Tests.Cache.XdsFixtures;

namespace Mesh.Xds.Tests.Cache;

public sealed class ResourceSnapshotTests
{
    [Fact]
    public void ResourceCreate_EachServedType_TakesTheNameFromTheMessage()
    {
        Assert.Equal(("api", TypeUrls.Cluster), Shape(Resource.Create(Cluster("api"))));
        Assert.Equal(("api", TypeUrls.Endpoint), Shape(Resource.Create(Endpoints("api", 1))));
        Assert.Equal(("public_listener", TypeUrls.Listener), Shape(Resource.Create(Listener("public_listener", 1))));
        Assert.Equal(("web", TypeUrls.Route), Shape(Resource.Create(Route("web", "api"))));
        Assert.Equal(("default", TypeUrls.Secret), Shape(Resource.Create(Secret("default", "pem"))));

        static (string, string) Shape(Resource r) => (r.Name, r.TypeUrl);
    }

    [Fact]
    public void ResourceCreate_SameContent_SameVersion_OtherContent_OtherVersion()
    {
        var a = Resource.Create(Cluster("api", 5));
        var b = Resource.Create(Cluster("api", 5));
        var c = Resource.Create(Cluster("api", 6));

        Assert.Equal(a.Version, b.Version);
        Assert.NotEqual(a.Version, c.Version);
        Assert.Matches("^[0-9a-f]{16}$", a.Version);
        Assert.Equal("api", a.Body.Unpack<Cluster>().Name);
        Assert.Same(a.Body, a.Delta.Resource_);
        Assert.Equal(a.Version, a.Delta.Version);
    }

    [Fact]
    public void ResourceCreate_EdsCluster_KnowsWhichEndpointsItNeeds()
    {
        var withServiceName = Cluster("api");
        withServiceName.EdsClusterConfig.ServiceName = "api.default.dc1";
        var staticCluster = new Cluster { Name = "local_app", Type = Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Static };

        Assert.Equal("api", Resource.Create(Cluster("api")).EndpointsName);
        Assert.Equal("api.default.dc1", Resource.Create(withServiceName).EndpointsName);
        Assert.Null(Resource.Create(staticCluster).EndpointsName);
        Assert.Null(Resource.Create(Endpoints("api", 1)).EndpointsName);
    }

    [Fact]
    public void ResourceCreate_UnservedMessage_Rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => Resource.Create(new Node { Id = "x" }));
        Assert.Contains("envoy.config.core.v3.Node", error.Message);
    }

    [Fact]
    public void ResourceCreate_NoName_Rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => Resource.Create(new Cluster()));
        Assert.Contains("CDS", error.Message);
    }

    [Fact]
    public void Create_GroupsByTypeInNameOrder()
    {
        var snapshot = ResourceSnapshot.Create(new Dictionary<string, IReadOnlyList<IMessage>>
        {
            [TypeUrls.Cluster] = [Cluster("b"), Cluster("a")],
            [TypeUrls.Endpoint] = [Endpoints("a", 1)],
        });

        Assert.Equal(["a", "b"], snapshot[TypeUrls.Cluster].All.Select(r => r.Name));
        Assert.Same(snapshot[TypeUrls.Cluster].All[0], snapshot[TypeUrls.Cluster].ByName["a"]);
        Assert.Single(snapshot[TypeUrls.Endpoint].All);
        Assert.Empty(snapshot[TypeUrls.Listener].All);
        Assert.Equal(ResourceSnapshot.Empty[TypeUrls.Listener].Version, snapshot[TypeUrls.Listener].Version);
    }

    [Fact]
    public void Create_DuplicateName_RejectedNamingIt()
    {
        var error = Assert.Throws<ArgumentException>(() => ResourceSnapshot.Create(new Dictionary<string, IReadOnlyList<IMessage>>
        {
            [TypeUrls.Cluster] = [Cluster("api"), Cluster("api", 9)],
        }));

        Assert.Contains("CDS", error.Message);
        Assert.Contains("'api'", error.Message);
    }

    [Fact]
    public void Create_SameNameInTwoTypes_Allowed()
    {
        var snapshot = Snapshot(Cluster("api"), Endpoints("api", 1), Route("api", "api"));

        Assert.Single(snapshot[TypeUrls.Cluster].All);
        Assert.Single(snapshot[TypeUrls.Endpoint].All);
        Assert.Single(snapshot[TypeUrls.Route].All);
    }

    [Fact]
    public void Create_MessageUnderTheWrongType_Rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => ResourceSnapshot.Create(new Dictionary<string, IReadOnlyList<IMessage>>
        {
            [TypeUrls.Listener] = [Cluster("api")],
        }));

        Assert.Contains("LDS", error.Message);
    }

    [Fact]
    public void Create_UnknownTypeUrl_Rejected()
    {
        Assert.Throws<ArgumentException>(() => ResourceSnapshot.Create(new Dictionary<string, IReadOnlyList<IMessage>>
        {
            ["type.googleapis.com/envoy.service.runtime.v3.Runtime"] = [],
        }));
    }

    [Fact]
    public void Indexer_UnknownTypeUrl_Rejected() =>
        Assert.Throws<ArgumentException>(() => ResourceSnapshot.Empty["type.googleapis.com/nope"]);

    [Fact]
    public void TypeVersion_UnchangedTypeKeepsIt_ChangedTypeGetsANewOne()
    {
        var first = Full();
        var same = Full();
        var endpointsMoved = Full(port: 9999);

        foreach (var type in TypeUrls.Ordered) Assert.Equal(first[type].Version, same[type].Version);
        Assert.NotEqual(first[TypeUrls.Endpoint].Version, endpointsMoved[TypeUrls.Endpoint].Version);
        foreach (var type in TypeUrls.Ordered.Where(t => t != TypeUrls.Endpoint))
            Assert.Equal(first[type].Version, endpointsMoved[type].Version);
    }

    [Fact]
    public void TypeVersion_DependsOnNamesAndOrderDoesNotMatter()
    {
        var ab = Snapshot(Cluster("a"), Cluster("b"));
        var ba = Snapshot(Cluster("b"), Cluster("a"));
        var a = Snapshot(Cluster("a"));
        var renamed = Snapshot(Cluster("a"), Cluster("c"));

        Assert.Equal(ab[TypeUrls.Cluster].Version, ba[TypeUrls.Cluster].Version);
        Assert.NotEqual(ab[TypeUrls.Cluster].Version, a[TypeUrls.Cluster].Version);
        Assert.NotEqual(ab[TypeUrls.Cluster].Version, renamed[TypeUrls.Cluster].Version);
    }

    [Fact]
    public void FromResources_OneResourceInManySnapshots_IsTheSameObjectInEach()
    {
        var shared = Resource.Create(Endpoints("api", 1));

        var one = ResourceSnapshot.FromResources([shared, Resource.Create(Cluster("api"))]);
        var two = ResourceSnapshot.FromResources([shared]);

        Assert.Same(one[TypeUrls.Endpoint].ByName["api"].Body, two[TypeUrls.Endpoint].ByName["api"].Body);
    }

    [Fact]
    public void TypeUrls_OrderIsSecretsClustersEndpointsListenersRoutes()
    {
        Assert.Equal([TypeUrls.Secret, TypeUrls.Cluster, TypeUrls.Endpoint, TypeUrls.Listener, TypeUrls.Route], TypeUrls.Ordered);
        for (var i = 0; i < TypeUrls.Count; i++) Assert.Equal(i, TypeUrls.IndexOf(TypeUrls.Ordered[i]));
        Assert.True(TypeUrls.AllowsWildcard(TypeUrls.Listener));
        Assert.True(TypeUrls.AllowsWildcard(TypeUrls.Cluster));
        Assert.False(TypeUrls.AllowsWildcard(TypeUrls.Endpoint));
        Assert.Equal("EDS", TypeUrls.ShortName(TypeUrls.Endpoint));
    }
}
