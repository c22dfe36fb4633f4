using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Mesh.Xds.Cache;
using Mesh.Xds.Server;
using Microsoft.Extensions.Logging;
using static Mesh.Xds.Tests.Cache.XdsFixtures;
using static Mesh.Xds.Tests.Server.AdsHarness;

namespace Mesh.Xds.Tests.Server;

public sealed class SotwServerTests
{
    private static readonly string[] None = [];

    [Fact]
    public async Task StreamAggregatedResources_EnvoyStartup_EachTypeAnsweredWithItsResources()
    {
        using var harness = new AdsHarness();
        var snapshot = Full();
        harness.Cache.SetSnapshot(NodeId, snapshot);
        await using var client = harness.Sotw();

        client.Send(Request(TypeUrls.Cluster, None, node: true));
        var cds = await client.ReceiveAsync();
        Assert.Equal(TypeUrls.Cluster, cds.TypeUrl);
        Assert.Equal(snapshot[TypeUrls.Cluster].Version, cds.VersionInfo);
        Assert.Equal("api", Assert.Single(cds.Resources).Unpack<Cluster>().Name);

        client.Send(Ack(cds));
        client.Send(Request(TypeUrls.Endpoint, ["api"]));
        var eds = await client.ReceiveAsync();
        Assert.Equal(TypeUrls.Endpoint, eds.TypeUrl);
        Assert.Equal(8080u, Assert.Single(eds.Resources).Unpack<ClusterLoadAssignment>().Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.PortValue);

        client.Send(Ack(eds, "api"));
        client.Send(Request(TypeUrls.Listener, None));
        var lds = await client.ReceiveAsync();
        Assert.Equal("public_listener", Assert.Single(lds.Resources).Unpack<Listener>().Name);

        client.Send(Ack(lds));
        client.Send(Request(TypeUrls.Route, ["api"]));
        var rds = await client.ReceiveAsync();
        Assert.Equal(TypeUrls.Route, rds.TypeUrl);
        Assert.Single(rds.Resources);

        client.Send(Ack(rds, "api"));
        client.Send(Request(TypeUrls.Secret, ["default"]));
        var sds = await client.ReceiveAsync();
        Assert.Equal(TypeUrls.Secret, sds.TypeUrl);
        Assert.Single(sds.Resources);

        var nonces = new[] { cds, eds, lds, rds, sds }.Select(r => r.Nonce).ToList();
        Assert.Equal(nonces.Count, nonces.Distinct().Count());
        Assert.All(nonces, n => Assert.False(string.IsNullOrEmpty(n)));
        Assert.Equal(1, harness.Server.Counters.ResponsesSent(TypeUrls.Cluster));
        Assert.Equal(1, harness.Server.Counters.Acks(TypeUrls.Route));
        Assert.Equal(1, harness.Server.Counters.ActiveSotwStreams);
    }

    [Fact]
    public async Task StreamAggregatedResources_AllTypesRequestedBeforeFirstSnapshot_SentSecretsClustersEndpointsListenersRoutes()
    {
        using var harness = new AdsHarness();
        // Requested in Envoy's order of asking, which is not the order of sending.
        await using var client = harness.Sotw(null,
            Request(TypeUrls.Cluster, None, node: true),
            Request(TypeUrls.Listener, None),
            Request(TypeUrls.Route, ["api"]),
            Request(TypeUrls.Endpoint, ["api"]),
            Request(TypeUrls.Secret, ["default"]));

        harness.Cache.SetSnapshot(NodeId, Full());

        var order = new List<string>();
        for (var i = 0; i < 5; i++) order.Add((await client.ReceiveAsync()).TypeUrl);
        Assert.Equal(TypeUrls.Ordered, order);
    }

    [Fact]
    public async Task StreamAggregatedResources_SnapshotChangesEveryType_SentInDependencyOrder()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Full());
        await using var client = harness.Sotw();
        var first = await SubscribeAllAsync(client);

        harness.Cache.SetSnapshot(NodeId, Full(port: 9090, pem: "cert-2", timeout: 7, listenerPort: 21001, routeCluster: "api-v2"));

        var second = new List<DiscoveryResponse>();
        for (var i = 0; i < 5; i++) second.Add(await client.ReceiveAsync());
        Assert.Equal(TypeUrls.Ordered, second.Select(r => r.TypeUrl));
        Assert.All(second, r => Assert.DoesNotContain(r.VersionInfo, first.Select(f => f.VersionInfo)));
    }

    [Fact]
    public async Task StreamAggregatedResources_Ack_RecordsAndAllowsTheNextVersion()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api")));
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));
        var v1 = await client.ReceiveAsync();

        client.Send(Ack(v1));
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api"), Cluster("db")));
        var v2 = await client.ReceiveAsync();

        Assert.NotEqual(v1.VersionInfo, v2.VersionInfo);
        Assert.NotEqual(v1.Nonce, v2.Nonce);
        Assert.Equal(["api", "db"], v2.Resources.Select(r => r.Unpack<Cluster>().Name));
        Assert.Equal(1, harness.Server.Counters.Acks(TypeUrls.Cluster));
        Assert.Equal(0, harness.Server.Counters.Nacks(TypeUrls.Cluster));
    }

    [Fact]
    public async Task StreamAggregatedResources_Nack_KeepsLastGoodCountsLogsAndSendsTheNextSnapshot()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api"), Listener("l1", 1000)));
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));
        var good = await client.ReceiveAsync();
        client.Send(Ack(good));

        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api", timeoutSeconds: 99), Listener("l1", 1000)));
        var bad = await client.ReceiveAsync();
        client.Send(Nack(bad, good.VersionInfo, "cluster api: connect_timeout too large"));
        // Neither the rejected version nor the old one comes back: the next response is the listener asked for now.
        client.Send(Request(TypeUrls.Listener, None));
        Assert.Equal(TypeUrls.Listener, (await client.ReceiveAsync()).TypeUrl);

        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api", timeoutSeconds: 6), Listener("l1", 1000)));
        var fixedVersion = await client.ReceiveAsync();
        Assert.Equal(TypeUrls.Cluster, fixedVersion.TypeUrl);
        Assert.Equal(6, fixedVersion.Resources[0].Unpack<Cluster>().ConnectTimeout.Seconds);

        Assert.Equal(1, harness.Server.Counters.Nacks(TypeUrls.Cluster));
        Assert.Equal(1, harness.Server.Counters.Acks(TypeUrls.Cluster));
        var nack = Assert.Single(harness.Logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains(NodeId, nack.Message);
        Assert.Contains("CDS", nack.Message);
        Assert.Contains(bad.VersionInfo, nack.Message);
        Assert.Contains(good.VersionInfo, nack.Message);
        Assert.Contains("connect_timeout too large", nack.Message);
    }

    [Fact]
    public async Task StreamAggregatedResources_StaleNonce_Ignored()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("a", 1), Endpoints("b", 2), Cluster("a")));
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Endpoint, ["a"], node: true));
        var first = await client.ReceiveAsync();
        client.Send(Request(TypeUrls.Endpoint, ["a", "b"], first.Nonce, first.VersionInfo));
        var second = await client.ReceiveAsync();
        Assert.Equal(2, second.Resources.Count);

        // Answers the first response: stale, so neither an ACK nor the change of names it carries counts.
        client.Send(Request(TypeUrls.Endpoint, ["b"], first.Nonce, first.VersionInfo));
        client.Send(Request(TypeUrls.Cluster, None));

        Assert.Equal(TypeUrls.Cluster, (await client.ReceiveAsync()).TypeUrl);
        Assert.Equal(1, harness.Server.Counters.Acks(TypeUrls.Endpoint));
        Assert.Equal(2, harness.Server.Counters.ResponsesSent(TypeUrls.Endpoint));
    }

    [Fact]
    public async Task StreamAggregatedResources_ReconnectWithVersionServerNeverHad_GetsCurrentResources()
    {
        using var harness = new AdsHarness();
        var snapshot = Full();
        harness.Cache.SetSnapshot(NodeId, snapshot);
        await using var client = harness.Sotw();

        client.Send(Request(TypeUrls.Cluster, None, version: "a-version-from-another-server", node: true));
        var cds = await client.ReceiveAsync();

        Assert.Equal(snapshot[TypeUrls.Cluster].Version, cds.VersionInfo);
        Assert.Single(cds.Resources);
    }

    [Fact]
    public async Task StreamAggregatedResources_ReconnectWithCurrentVersion_StillGetsCurrentResources()
    {
        using var harness = new AdsHarness();
        var snapshot = Full();
        harness.Cache.SetSnapshot(NodeId, snapshot);
        await using var client = harness.Sotw();

        client.Send(Request(TypeUrls.Cluster, None, version: snapshot[TypeUrls.Cluster].Version, node: true));

        Assert.Single((await client.ReceiveAsync()).Resources);
    }

    [Fact]
    public async Task StreamAggregatedResources_NamesShrink_SendsTheSmallerSetAtOnce()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("a", 1), Endpoints("b", 2)));
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Endpoint, ["a", "b"], node: true));
        var both = await client.ReceiveAsync();
        Assert.Equal(2, both.Resources.Count);

        client.Send(Ack(both, "a"));
        var one = await client.ReceiveAsync();

        Assert.Equal("a", Assert.Single(one.Resources).Unpack<ClusterLoadAssignment>().ClusterName);
        Assert.Equal(both.VersionInfo, one.VersionInfo);
        Assert.NotEqual(both.Nonce, one.Nonce);
    }

    [Fact]
    public async Task StreamAggregatedResources_WildcardAndNamed_CoverWhatTheyShould()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("a"), Cluster("b"), Endpoints("a", 1), Endpoints("b", 2)));
        await using var client = harness.Sotw();

        client.Send(Request(TypeUrls.Cluster, None, node: true));
        Assert.Equal(2, (await client.ReceiveAsync()).Resources.Count);

        // Endpoints are never wildcard: no names means none of them.
        client.Send(Request(TypeUrls.Endpoint, None));
        Assert.Empty((await client.ReceiveAsync()).Resources);

        await using var named = harness.Sotw();
        named.Send(Request(TypeUrls.Cluster, ["b", "missing"], node: true));
        Assert.Equal("b", Assert.Single((await named.ReceiveAsync()).Resources).Unpack<Cluster>().Name);

        await using var star = harness.Sotw();
        star.Send(Request(TypeUrls.Cluster, ["*"], node: true));
        Assert.Equal(2, (await star.ReceiveAsync()).Resources.Count);
    }

    [Fact]
    public async Task StreamAggregatedResources_OnlyChangedTypesAreSent()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Full());
        await using var client = harness.Sotw();
        await SubscribeAllAsync(client);

        // Same content, new objects: every type keeps its version, so nothing is sent for it.
        var same = Full();
        harness.Cache.SetSnapshot(NodeId, same);
        await harness.HandledAsync(same);
        Assert.Equal(0, client.Pending);
        // Only the endpoints changed.
        harness.Cache.SetSnapshot(NodeId, Full(port: 9999));

        var eds = await client.ReceiveAsync();
        Assert.Equal(TypeUrls.Endpoint, eds.TypeUrl);
        client.Send(Ack(eds, "api"));
        client.Send(Request(TypeUrls.Cluster, ["api"], version: "probe"));
        Assert.Equal(TypeUrls.Cluster, (await client.ReceiveAsync()).TypeUrl);
        Assert.Equal(0, client.Pending);
        Assert.Equal(2, harness.Server.Counters.ResponsesSent(TypeUrls.Endpoint));
        Assert.Equal(1, harness.Server.Counters.ResponsesSent(TypeUrls.Listener));
    }

    [Fact]
    public async Task StreamAggregatedResources_ClusterChangedEndpointsNot_EndpointsResentAfterIt()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api"), Endpoints("api", 1)));
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));
        client.Send(Ack(await client.ReceiveAsync()));
        client.Send(Request(TypeUrls.Endpoint, ["api"]));
        var eds = await client.ReceiveAsync();
        client.Send(Ack(eds, "api"));

        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("api", timeoutSeconds: 9), Endpoints("api", 1)));

        Assert.Equal(TypeUrls.Cluster, (await client.ReceiveAsync()).TypeUrl);
        // Envoy finishes warming the updated cluster only when its endpoints arrive again, unchanged as they are.
        var again = await client.ReceiveAsync();
        Assert.Equal(TypeUrls.Endpoint, again.TypeUrl);
        Assert.Equal(eds.VersionInfo, again.VersionInfo);
        Assert.Single(again.Resources);
    }

    [Fact]
    public async Task StreamAggregatedResources_UnansweredType_HoldsItAndTheTypesAfterIt()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Cluster("a"), Listener("l", 1)));
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));
        var cds1 = await client.ReceiveAsync();
        client.Send(Request(TypeUrls.Listener, None));
        var lds1 = await client.ReceiveAsync();
        client.Send(Ack(lds1));

        // Clusters are unanswered: a snapshot that changes clusters and listeners sends neither (one response in
        // flight per type), and the listener must not overtake the cluster it may need.
        var second = Snapshot(Cluster("a"), Cluster("b"), Listener("l", 2));
        harness.Cache.SetSnapshot(NodeId, second);
        await harness.HandledAsync(second);
        Assert.Equal(0, client.Pending);

        // The stream must have taken in the third snapshot before the ACK frees it, or it would answer from the second.
        var third = Snapshot(Cluster("a"), Cluster("b"), Cluster("c"), Listener("l", 3));
        harness.Cache.SetSnapshot(NodeId, third);
        await harness.HandledAsync(third);
        client.Send(Ack(cds1));

        var cds = await client.ReceiveAsync();
        var lds = await client.ReceiveAsync();
        Assert.Equal(TypeUrls.Cluster, cds.TypeUrl);
        Assert.Equal(3, cds.Resources.Count);
        Assert.Equal(TypeUrls.Listener, lds.TypeUrl);
        Assert.Equal(3u, lds.Resources[0].Unpack<Listener>().Address.SocketAddress.PortValue);
    }

    [Fact]
    public async Task StreamAggregatedResources_SlowClient_GetsOnlyTheLatestSnapshot()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("api", 1)));
        var firstSendEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sends = 0;
        await using var client = harness.Sotw(async (_, _) =>
        {
            // The first write stalls, as a client that does not read would make it.
            if (Interlocked.Increment(ref sends) == 1)
            {
                firstSendEntered.SetResult();
                await release.Task;
            }
        });
        client.Send(Request(TypeUrls.Endpoint, ["api"], node: true));
        await firstSendEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        for (var port = 2; port <= 5; port++) harness.Cache.SetSnapshot(NodeId, Snapshot(Endpoints("api", port)));
        release.SetResult();
        var first = await client.ReceiveAsync();
        client.Send(Ack(first, "api"));
        var latest = await client.ReceiveAsync();

        Assert.Equal(5u, latest.Resources[0].Unpack<ClusterLoadAssignment>().Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.PortValue);
        client.Send(Ack(latest, "api"));
        client.Send(Request(TypeUrls.Cluster, None));
        Assert.Equal(TypeUrls.Cluster, (await client.ReceiveAsync()).TypeUrl);
        Assert.Equal(2, harness.Server.Counters.ResponsesSent(TypeUrls.Endpoint));
    }

    [Fact]
    public async Task StreamAggregatedResources_ManyStreamsOfOneSnapshot_ShareTheSameAnyInstances()
    {
        using var harness = new AdsHarness();
        var snapshot = Snapshot(Cluster("a"), Cluster("b"));
        harness.Cache.SetSnapshot(NodeId, snapshot);
        var clients = Enumerable.Range(0, 50).Select(_ => harness.Sotw()).ToList();
        try
        {
            foreach (var client in clients) client.Send(Request(TypeUrls.Cluster, None, node: true));
            foreach (var client in clients)
            {
                var response = await client.ReceiveAsync();
                Assert.Same(snapshot[TypeUrls.Cluster].ByName["a"].Body, response.Resources[0]);
                Assert.Same(snapshot[TypeUrls.Cluster].ByName["b"].Body, response.Resources[1]);
            }
            Assert.Equal(50, harness.Server.Counters.ActiveStreams);
            Assert.Equal(50, harness.Cache.SubscriberCount(NodeId));
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
        Assert.Equal(0, harness.Server.Counters.ActiveStreams);
        Assert.Equal(0, harness.Cache.SubscriberCount(NodeId));
    }

    [Fact]
    public async Task StreamAggregatedResources_FirstRequestWithoutNode_FailsInvalidArgument()
    {
        using var harness = new AdsHarness();
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None));

        var error = Assert.IsType<XdsStreamException>(await client.EndAsync());

        Assert.Equal(XdsStatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("node", error.Message);
        Assert.Equal(0, harness.Cache.NodeCount);
        Assert.Equal(1, harness.Server.Counters.StreamsFailed);
        Assert.Equal(0, harness.Server.Counters.ActiveStreams);
    }

    [Fact]
    public async Task StreamAggregatedResources_NodeWithoutId_FailsInvalidArgument()
    {
        using var harness = new AdsHarness();
        await using var client = harness.Sotw();
        var request = Request(TypeUrls.Cluster, None);
        request.Node = new Envoy.Config.Core.V3.Node { Cluster = "web" };
        client.Send(request);

        Assert.Equal(XdsStatusCode.InvalidArgument, Assert.IsType<XdsStreamException>(await client.EndAsync()).StatusCode);
    }

    [Fact]
    public async Task StreamAggregatedResources_RequestWithoutTypeUrl_FailsInvalidArgument()
    {
        using var harness = new AdsHarness();
        await using var client = harness.Sotw();
        client.Send(Request("", None, node: true));

        var error = Assert.IsType<XdsStreamException>(await client.EndAsync());

        Assert.Equal(XdsStatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(0, harness.Cache.SubscriberCount(NodeId));
    }

    [Fact]
    public async Task StreamAggregatedResources_UnsupportedType_IgnoredAndStreamGoesOn()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Full());
        await using var client = harness.Sotw();
        client.Send(Request("type.googleapis.com/envoy.service.runtime.v3.Runtime", None, node: true));
        client.Send(Request(TypeUrls.Cluster, None));

        Assert.Equal(TypeUrls.Cluster, (await client.ReceiveAsync()).TypeUrl);
    }

    [Fact]
    public async Task StreamAggregatedResources_NoSnapshotYet_AnswersWhenOneIsSet()
    {
        using var harness = new AdsHarness();
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));
        client.Send(Request(TypeUrls.Endpoint, ["api"]));

        harness.Cache.SetSnapshot(NodeId, Full());

        Assert.Equal(TypeUrls.Cluster, (await client.ReceiveAsync()).TypeUrl);
        Assert.Equal(TypeUrls.Endpoint, (await client.ReceiveAsync()).TypeUrl);
    }

    [Fact]
    public async Task StreamAggregatedResources_ClientHalfCloses_CompletesAndReleasesTheSubscription()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Full());
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));
        await client.ReceiveAsync();
        Assert.Equal(1, harness.Cache.SubscriberCount(NodeId));

        client.HalfClose();

        Assert.Null(await client.EndAsync());
        Assert.Equal(0, harness.Cache.SubscriberCount(NodeId));
        Assert.Equal(0, harness.Server.Counters.ActiveStreams);
        Assert.Equal(0, harness.Server.Counters.StreamsFailed);
    }

    [Fact]
    public async Task StreamAggregatedResources_CallCancelled_EndsCancelledAndReleasesTheSubscription()
    {
        using var harness = new AdsHarness();
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));
        harness.Cache.SetSnapshot(NodeId, Full());
        await client.ReceiveAsync();

        client.Cancel();

        Assert.IsAssignableFrom<OperationCanceledException>(await client.EndAsync());
        Assert.Equal(0, harness.Cache.SubscriberCount(NodeId));
        Assert.Equal(0, harness.Server.Counters.ActiveStreams);
    }

    [Fact]
    public async Task StreamAggregatedResources_ServerShutdown_EndsUnavailable()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Full());
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));
        await client.ReceiveAsync();

        harness.Server.Shutdown();

        Assert.Equal(XdsStatusCode.Unavailable, Assert.IsType<XdsStreamException>(await client.EndAsync()).StatusCode);
        Assert.Equal(0, harness.Cache.SubscriberCount(NodeId));

        await using var late = harness.Sotw();
        late.Send(Request(TypeUrls.Cluster, None, node: true));
        Assert.Equal(XdsStatusCode.Unavailable, Assert.IsType<XdsStreamException>(await late.EndAsync()).StatusCode);
    }

    [Fact]
    public async Task StreamAggregatedResources_AfterDispose_NewStreamEndsUnavailable()
    {
        var harness = new AdsHarness();
        harness.Dispose();
        harness.Dispose();

        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));

        Assert.Equal(XdsStatusCode.Unavailable, Assert.IsType<XdsStreamException>(await client.EndAsync()).StatusCode);
    }

    [Fact]
    public async Task StreamAggregatedResources_SourceRefusesNode_EndsWithTheSourcesStatus()
    {
        using var harness = new AdsHarness(new RefusingSource(new XdsStreamException(XdsStatusCode.NotFound, "no proxy web-sidecar-proxy")));
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));

        var error = Assert.IsType<XdsStreamException>(await client.EndAsync());

        Assert.Equal(XdsStatusCode.NotFound, error.StatusCode);
        Assert.Equal("no proxy web-sidecar-proxy", error.Message);
    }

    [Fact]
    public async Task StreamAggregatedResources_SourceFaults_EndsInternalAndLogsTheError()
    {
        using var harness = new AdsHarness(new RefusingSource(new InvalidOperationException("boom")));
        await using var client = harness.Sotw();
        client.Send(Request(TypeUrls.Cluster, None, node: true));

        var error = Assert.IsType<XdsStreamException>(await client.EndAsync());

        Assert.Equal(XdsStatusCode.Internal, error.StatusCode);
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Contains(harness.Logger.Entries, e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException);
    }

    [Fact]
    public async Task StreamAggregatedResources_SendFails_EndsInternalAndReleasesTheSubscription()
    {
        using var harness = new AdsHarness();
        harness.Cache.SetSnapshot(NodeId, Full());
        await using var client = harness.Sotw((_, _) => throw new IOException("connection reset"));
        client.Send(Request(TypeUrls.Cluster, None, node: true));

        var error = Assert.IsType<XdsStreamException>(await client.EndAsync());

        Assert.Equal(XdsStatusCode.Internal, error.StatusCode);
        Assert.Equal(0, harness.Cache.SubscriberCount(NodeId));
    }

    /// <summary>Subscribes to every type and ACKs each response; returns the five responses.</summary>
    internal static async Task<List<DiscoveryResponse>> SubscribeAllAsync(StreamClient<DiscoveryRequest, DiscoveryResponse> client)
    {
        var responses = new List<DiscoveryResponse>();
        var requests = new (string Type, string[] Names)[]
        {
            (TypeUrls.Cluster, None), (TypeUrls.Endpoint, ["api"]), (TypeUrls.Listener, None), (TypeUrls.Route, ["api"]), (TypeUrls.Secret, ["default"]),
        };
        var first = true;
        foreach (var (type, names) in requests)
        {
            client.Send(Request(type, names, node: first));
            first = false;
            var response = await client.ReceiveAsync();
            Assert.Equal(type, response.TypeUrl);
            client.Send(Ack(response, names));
            responses.Add(response);
        }
        return responses;
    }

    private sealed class RefusingSource(Exception error) : IResourceSource
    {
        public IResourceSubscription Subscribe(Envoy.Config.Core.V3.Node node) => throw error;
    }
}
