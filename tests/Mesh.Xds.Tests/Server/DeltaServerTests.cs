using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Mesh.Xds.Cache;
using Mesh.Xds.Server;
using Microsoft.Extensions.Logging;
using static Mesh.Xds.Tests.Cache.XdsFixtures;
using static Mesh.Xds.Tests.Server.AdsHarness;

namespace Mesh.Xds.Tests.Server;

public sealed class DeltaServerTests
{
    [Fact]
    public async Task DeltaAggregatedResources_LegacyWildcardFirstRequest_SendsEveryCluster()
    {
        using var harness = new AdsHarness();
        var snapshot = Snapshot(Cluster("a"), Cluster("b"), Endpoints("a", 1));
        harness.Cache.SetSnapshot(NodeId, snapshot);
        await using var client = harness.Delta();

        client.Send(DeltaRequest(TypeUrls.Cluster, node: true));
        var response = await client.ReceiveAsync();

        Assert.Equal(TypeUrls.Cluster, response.TypeUrl);
        Assert.Equal(snapshot[TypeUrls.Cluster].Version, response.SystemVersionInfo);
        Assert.False(string.IsNullOrEmpty(response.Nonce));
        Assert.Equal(["a", "b"], response.Resources.Select(r => r.Name));
        Assert.Equal(snapshot[TypeUrls.Cluster].ByName["a"].Version, response.Resources[0].Version);
        Assert.Equal("a", response.Resources[0].Resource_.Unpack<Cluster>().Name);
        Assert.Empty(response.RemovedResources);
        Assert.Equal(1, harness.Server.Counters.ActiveDeltaStreams);
    }

    [Fact]
    public async Task DeltaAggregatedResources_NamedSubscription_SendsOnlyTheNamedThatExist()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("a", 1), Endpoints("b", 2), Endpoints("c", 3)));
        await using var client = harness.Delta();

        client.Send(DeltaRequest(TypeUrls.Endpoint, ["a", "c", "missing"], node: true));
        var response = await client.ReceiveAsync();

        Assert.Equal(["a", "c"], response.Resources.Select(r => r.Name));
        Assert.Empty(response.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_SubscribeMore_SendsOnlyTheNewNames()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("a", 1), Endpoints("b", 2)));
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Endpoint, ["a"], node: true));
        var first = await client.ReceiveAsync();
        client.Send(DeltaAck(first));

        client.Send(DeltaRequest(TypeUrls.Endpoint, ["b"]));
        var second = await client.ReceiveAsync();

        Assert.Equal("b", Assert.Single(second.Resources).Name);
        Assert.NotEqual(first.Nonce, second.Nonce);
    }

    [Fact]
    public async Task DeltaAggregatedResources_Unsubscribe_StopsUpdatesForThatName()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("a", 1), Endpoints("b", 2), Cluster("a")));
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Endpoint, ["a", "b"], node: true));
        client.Send(DeltaAck(await client.ReceiveAsync()));

        client.Send(DeltaRequest(TypeUrls.Endpoint, unsubscribe: ["b"]));
        await ProbeAsync(client, TypeUrls.Cluster);
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("a", 10), Endpoints("b", 20), Cluster("a")));

        var update = await client.ReceiveAsync();
        Assert.Equal("a", Assert.Single(update.Resources).Name);
        Assert.Empty(update.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_SnapshotChange_SendsOnlyChangedResourcesAndRemovals()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("a"), Cluster("b"), Cluster("c")));
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Cluster, node: true));
        client.Send(DeltaAck(await client.ReceiveAsync()));

        // Rebuilt with the same content: nothing to say.
        var same = Snapshot(Cluster("c"), Cluster("b"), Cluster("a"));
        harness.Cache.SetSnapshot(NodeId, same);
        await harness.HandledAsync(same);
        Assert.Equal(0, client.Pending);

        var next = Snapshot(Cluster("a"), Cluster("b", timeoutSeconds: 9), Cluster("d"));
        harness.Cache.SetSnapshot(NodeId, next);
        var update = await client.ReceiveAsync();

        Assert.Equal(["b", "d"], update.Resources.Select(r => r.Name));
        Assert.Equal(["c"], update.RemovedResources);
        Assert.Equal(next[TypeUrls.Cluster].Version, update.SystemVersionInfo);
    }

    [Fact]
    public async Task DeltaAggregatedResources_ClusterChangedEndpointsNot_EndpointsResentAfterIt()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api"), Cluster("db"), Endpoints("api", 1), Endpoints("db", 2)));
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Cluster, node: true));
        client.Send(DeltaAck(await client.ReceiveAsync()));
        client.Send(DeltaRequest(TypeUrls.Endpoint, ["api", "db"]));
        var eds = await client.ReceiveAsync();
        client.Send(DeltaAck(eds));

        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api", timeoutSeconds: 9), Cluster("db"), Endpoints("api", 1), Endpoints("db", 2)));

        Assert.Equal("api", Assert.Single((await client.ReceiveAsync()).Resources).Name);
        // Only the updated cluster's endpoints, unchanged, so that Envoy can finish warming it.
        var again = await client.ReceiveAsync();
        Assert.Equal(TypeUrls.Endpoint, again.TypeUrl);
        Assert.Equal("api", Assert.Single(again.Resources).Name);
        Assert.Equal(eds.Resources.Single(r => r.Name == "api").Version, again.Resources[0].Version);
    }

    [Fact]
    public async Task DeltaAggregatedResources_ClusterChangedAndItsEndpointsDeleted_EndpointsReportedRemoved()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api"), Endpoints("api", 1)));
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Cluster, node: true));
        client.Send(DeltaAck(await client.ReceiveAsync()));
        client.Send(DeltaRequest(TypeUrls.Endpoint, ["api"]));
        client.Send(DeltaAck(await client.ReceiveAsync()));

        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api", timeoutSeconds: 9)));

        Assert.Equal(TypeUrls.Cluster, (await client.ReceiveAsync()).TypeUrl);
        var eds = await client.ReceiveAsync();
        Assert.Equal(["api"], eds.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_NamedResourceDeleted_ReportedRemovedOnlyIfClientHadIt()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("a", 1), Endpoints("b", 2)));
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Endpoint, ["a", "b", "never"], node: true));
        client.Send(DeltaAck(await client.ReceiveAsync()));

        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("b", 2)));
        var update = await client.ReceiveAsync();

        Assert.Empty(update.Resources);
        Assert.Equal(["a"], update.RemovedResources);

        // Back again: the name is still subscribed, so it is sent.
        client.Send(DeltaAck(update));
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("a", 3), Endpoints("b", 2)));
        Assert.Equal("a", Assert.Single((await client.ReceiveAsync()).Resources).Name);
    }

    [Fact]
    public async Task DeltaAggregatedResources_ReconnectWithInitialVersions_SendsOnlyWhatDiffersAndRemovesWhatIsGone()
    {
        using var harness = new AdsHarness();
        var snapshot = Snapshot(Cluster("a"), Cluster("b", timeoutSeconds: 8));
        harness.Cache.SetSnapshot(NodeId, snapshot);
        await using var client = harness.Delta();

        client.Send(DeltaRequest(TypeUrls.Cluster, node: true, initial: new Dictionary<string, string>
        {
            ["a"] = snapshot[TypeUrls.Cluster].ByName["a"].Version,
            ["b"] = "an-old-version",
            ["gone"] = "whatever",
        }));
        var response = await client.ReceiveAsync();

        Assert.Equal("b", Assert.Single(response.Resources).Name);
        Assert.Equal(["gone"], response.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_ReconnectHoldingEverything_WildcardStillGetsAnEmptyFirstResponse()
    {
        using var harness = new AdsHarness();
        var snapshot = Snapshot(Cluster("a"));
        harness.Cache.SetSnapshot(NodeId, snapshot);
        await using var client = harness.Delta();

        client.Send(DeltaRequest(TypeUrls.Cluster, node: true,
            initial: new Dictionary<string, string> { ["a"] = snapshot[TypeUrls.Cluster].ByName["a"].Version }));
        var response = await client.ReceiveAsync();

        Assert.Empty(response.Resources);
        Assert.Empty(response.RemovedResources);
        Assert.Equal(snapshot[TypeUrls.Cluster].Version, response.SystemVersionInfo);
    }

    [Fact]
    public async Task DeltaAggregatedResources_NamedReconnectHoldingEverything_SendsNothing()
    {
        using var harness = new AdsHarness();
        var snapshot = Snapshot(Endpoints("a", 1), Cluster("a"));
        harness.Cache.SetSnapshot(NodeId, snapshot);
        await using var client = harness.Delta();

        client.Send(DeltaRequest(TypeUrls.Endpoint, ["a"], node: true,
            initial: new Dictionary<string, string> { ["a"] = snapshot[TypeUrls.Endpoint].ByName["a"].Version }));
        // The probe holds its cluster too; a cluster sent would bring its endpoints along.
        client.Send(DeltaRequest(TypeUrls.Cluster, initial: new Dictionary<string, string> { ["a"] = snapshot[TypeUrls.Cluster].ByName["a"].Version }));

        Assert.Equal(TypeUrls.Cluster, (await client.ReceiveAsync()).TypeUrl);
        Assert.Equal(0, harness.Server.Counters.ResponsesSent(TypeUrls.Endpoint));
    }

    [Fact]
    public async Task DeltaAggregatedResources_Nack_CountsLogsDoesNotResendAndSendsTheNextChange()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("a"), Cluster("b"), Endpoints("a", 1)));
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Cluster, node: true));
        client.Send(DeltaAck(await client.ReceiveAsync()));

        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("a", timeoutSeconds: 99), Cluster("b"), Endpoints("a", 1)));
        var rejected = await client.ReceiveAsync();
        client.Send(DeltaRequest(TypeUrls.Cluster, nonce: rejected.Nonce, error: "cluster a: bad timeout"));
        // Nothing comes back for clusters: the next response is the endpoints asked for now.
        client.Send(DeltaRequest(TypeUrls.Endpoint, ["a"]));
        Assert.Equal(TypeUrls.Endpoint, (await client.ReceiveAsync()).TypeUrl);

        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("a", timeoutSeconds: 99), Cluster("b", timeoutSeconds: 3), Endpoints("a", 1)));
        var next = await client.ReceiveAsync();

        // Only b changed since what the client was sent; the rejected a is not pushed again.
        Assert.Equal(TypeUrls.Cluster, next.TypeUrl);
        Assert.Equal("b", Assert.Single(next.Resources).Name);
        Assert.Equal(1, harness.Server.Counters.Nacks(TypeUrls.Cluster));
        Assert.Equal(1, harness.Server.Counters.Acks(TypeUrls.Cluster));
        var nack = Assert.Single(harness.Logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains(NodeId, nack.Message);
        Assert.Contains(rejected.SystemVersionInfo, nack.Message);
        Assert.Contains("bad timeout", nack.Message);
    }

    [Fact]
    public async Task DeltaAggregatedResources_StaleNonce_NotCountedButSubscriptionChangesApply()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("a", 1), Endpoints("b", 2)));
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Endpoint, ["a"], node: true));
        var first = await client.ReceiveAsync();

        client.Send(DeltaRequest(TypeUrls.Endpoint, ["b"], nonce: "not-a-nonce-of-this-stream"));
        client.Send(DeltaAck(first));
        var second = await client.ReceiveAsync();

        Assert.Equal("b", Assert.Single(second.Resources).Name);
        Assert.Equal(1, harness.Server.Counters.Acks(TypeUrls.Endpoint));
    }

    [Fact]
    public async Task DeltaAggregatedResources_ExplicitWildcard_SubscribeAndUnsubscribe()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("a"), Cluster("b"), Endpoints("a", 1)));
        await using var client = harness.Delta();

        client.Send(DeltaRequest(TypeUrls.Cluster, ["a"], node: true));
        var named = await client.ReceiveAsync();
        Assert.Equal("a", Assert.Single(named.Resources).Name);
        client.Send(DeltaAck(named));

        client.Send(DeltaRequest(TypeUrls.Cluster, ["*"]));
        var all = await client.ReceiveAsync();
        Assert.Equal("b", Assert.Single(all.Resources).Name);
        client.Send(DeltaAck(all));

        client.Send(DeltaRequest(TypeUrls.Cluster, unsubscribe: ["*"]));
        await ProbeAsync(client, TypeUrls.Endpoint);
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("a", timeoutSeconds: 2), Cluster("b", timeoutSeconds: 2), Endpoints("a", 1)));
        var update = await client.ReceiveAsync();
        Assert.Equal("a", Assert.Single(update.Resources).Name);
        Assert.Empty(update.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_UnsubscribeNameStillCoveredByWildcard_ResendsIt()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("a"), Cluster("b")));
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Cluster, ["*", "a"], node: true));
        var first = await client.ReceiveAsync();
        Assert.Equal(2, first.Resources.Count);
        client.Send(DeltaAck(first));

        client.Send(DeltaRequest(TypeUrls.Cluster, unsubscribe: ["a"]));

        Assert.Equal("a", Assert.Single((await client.ReceiveAsync()).Resources).Name);
    }

    [Fact]
    public async Task DeltaAggregatedResources_SnapshotChangesEveryType_SentInDependencyOrder()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Full());
        await using var client = harness.Delta();
        var subscriptions = new (string Type, string[]? Names)[]
        {
            (TypeUrls.Cluster, null), (TypeUrls.Endpoint, ["api"]), (TypeUrls.Listener, null), (TypeUrls.Route, ["api"]), (TypeUrls.Secret, ["default"]),
        };
        var first = true;
        foreach (var (type, names) in subscriptions)
        {
            client.Send(DeltaRequest(type, names, node: first));
            first = false;
            client.Send(DeltaAck(await client.ReceiveAsync()));
        }

        harness.Cache.SetSnapshot(NodeId, Full(port: 9090, pem: "cert-2", timeout: 7, listenerPort: 21001, routeCluster: "api-v2"));

        var order = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var response = await client.ReceiveAsync();
            Assert.Single(response.Resources);
            order.Add(response.TypeUrl);
        }
        Assert.Equal(TypeUrls.Ordered, order);
    }

    [Fact]
    public async Task DeltaAggregatedResources_ManyStreams_ShareTheSameResourceWrappers()
    {
        using var harness = new AdsHarness();
        var snapshot = Snapshot(Endpoints("api", 1));
        harness.Cache.SetSnapshot(NodeId, snapshot);
        var clients = Enumerable.Range(0, 20).Select(_ => harness.Delta()).ToList();
        try
        {
            foreach (var client in clients) client.Send(DeltaRequest(TypeUrls.Endpoint, ["api"], node: true));
            foreach (var client in clients)
            {
                var resource = Assert.Single((await client.ReceiveAsync()).Resources);
                Assert.Same(snapshot[TypeUrls.Endpoint].ByName["api"].Body, resource.Resource_);
            }
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
        Assert.Equal(0, harness.Server.Counters.ActiveDeltaStreams);
    }

    /// <summary>
    /// Subscribes to resource <c>a</c> of a type not yet asked for (the snapshot must have it) and waits for it: once it
    /// arrives, the stream has handled every earlier request, so a snapshot published next cannot overtake them.
    /// </summary>
    private static async Task ProbeAsync(StreamClient<DeltaDiscoveryRequest, DeltaDiscoveryResponse> client, string typeUrl)
    {
        client.Send(DeltaRequest(typeUrl, ["a"]));
        var probe = await client.ReceiveAsync();
        Assert.Equal(typeUrl, probe.TypeUrl);
        client.Send(DeltaAck(probe));
    }

    [Fact]
    public async Task DeltaAggregatedResources_FirstRequestWithoutNode_FailsInvalidArgument()
    {
        using var harness = new AdsHarness();
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Cluster));

        var error = Assert.IsType<XdsStreamException>(await client.EndAsync());

        Assert.Equal(XdsStatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(0, harness.Cache.NodeCount);
    }

    [Fact]
    public async Task DeltaAggregatedResources_HalfClose_CompletesAndReleasesTheSubscription()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Full());
        await using var client = harness.Delta();
        client.Send(DeltaRequest(TypeUrls.Cluster, node: true));
        await client.ReceiveAsync();

        client.HalfClose();

        Assert.Null(await client.EndAsync());
        Assert.Equal(0, harness.Cache.SubscriberCount(NodeId));
        Assert.Equal(0, harness.Server.Counters.ActiveStreams);
    }

    [Fact]
    public async Task DeltaAggregatedResources_ServerShutdownBeforeFirstRequest_EndsUnavailable()
    {
        using var harness = new AdsHarness();
        await using var client = harness.Delta();

        harness.Server.Shutdown();

        Assert.Equal(XdsStatusCode.Unavailable, Assert.IsType<XdsStreamException>(await client.EndAsync()).StatusCode);
        Assert.Equal(0, harness.Server.Counters.ActiveStreams);
    }
}
