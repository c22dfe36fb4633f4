using Envoy.Config.Cluster.V3;
using Envoy.Config.Listener.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Xds.Tests.Api;

public sealed class GeneratedApiTests
{
    [Fact]
    public void Messages_CarryEnvoyFullNames_SoTypeUrlsMatchWhatEnvoyExpects()
    {
        Assert.Equal("envoy.config.listener.v3.Listener", Listener.Descriptor.FullName);
        Assert.Equal("envoy.config.cluster.v3.Cluster", Cluster.Descriptor.FullName);
        Assert.Equal("type.googleapis.com/envoy.config.cluster.v3.Cluster", Any.Pack(new Cluster { Name = "x" }).TypeUrl);
    }

    [Fact]
    public void DiscoveryResponse_RoundTripsThroughTheWireFormat()
    {
        var response = new DiscoveryResponse { VersionInfo = "7", Nonce = "n1", TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster" };
        response.Resources.Add(Any.Pack(new Cluster { Name = "local_app" }));

        var parsed = DiscoveryResponse.Parser.ParseFrom(response.ToByteArray());

        Assert.Equal("local_app", parsed.Resources[0].Unpack<Cluster>().Name);
        Assert.Equal("7", parsed.VersionInfo);
    }
}
