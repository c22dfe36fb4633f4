using System.Diagnostics;
using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Mesh.Xds.Cache;
using Xunit.Abstractions;
using static Mesh.Xds.Tests.Cache.XdsFixtures;
using static Mesh.Xds.Tests.Server.AdsHarness;

namespace Mesh.Xds.Tests.Server;

public sealed class AdsScaleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task StreamAggregatedResources_TenThousandStreams_EveryStreamGetsTheEndpointUpdate()
    {
        const int streams = 10_000, nodes = 100;
        using var harness = new AdsHarness();
        for (var n = 0; n < nodes; n++) harness.Cache.SetSnapshot($"proxy-{n}", Snapshot(Endpoints("api", 1)));
        var clients = new List<StreamClient<DiscoveryRequest, DiscoveryResponse>>(streams);
        try
        {
            for (var i = 0; i < streams; i++)
            {
                var client = harness.Sotw();
                var request = Request(TypeUrls.Endpoint, ["api"]);
                request.Node = Node($"proxy-{i % nodes}");
                client.Send(request);
                clients.Add(client);
            }
            foreach (var client in clients) client.Send(Ack(await client.ReceiveAsync(), "api"));

            var clock = Stopwatch.StartNew();
            for (var n = 0; n < nodes; n++) harness.Cache.SetSnapshot($"proxy-{n}", Snapshot(Endpoints("api", 2)));
            foreach (var client in clients)
            {
                var update = await client.ReceiveAsync();
                Assert.Equal(2u, update.Resources[0].Unpack<ClusterLoadAssignment>().Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.PortValue);
            }
            output.WriteLine($"{streams} streams updated in {clock.ElapsedMilliseconds} ms");
            Assert.Equal(streams, harness.Server.Counters.ActiveStreams);
            Assert.Equal(streams, harness.Server.Counters.Acks(TypeUrls.Endpoint));
        }
        finally
        {
            foreach (var client in clients) await client.DisposeAsync();
        }
        Assert.Equal(0, harness.Server.Counters.ActiveStreams);
        Assert.Equal(nodes, harness.Cache.NodeCount);
    }
}
