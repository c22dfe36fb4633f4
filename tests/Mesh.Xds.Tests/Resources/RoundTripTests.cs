using System.Text.Json;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Resources;
using static Mesh.Xds.Tests.Resources.SnapshotFixtures;

namespace Mesh.Xds.Tests.Resources;

/// <summary>
/// Every builder's output survives the two encodings it travels in: the wire format inside an <c>Any</c> (what ADS
/// sends) and Envoy's proto JSON (what the golden files and <c>config_dump</c> show), read back with the same registry.
/// </summary>
public sealed class RoundTripTests
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithTypeRegistry(Names.AnyTypes));

    public static TheoryData<string> Snapshots() => new() { "tcp", "http", "proxyless" };

    private static ConfigSnapshot Snapshot(string name) => name switch
    {
        "tcp" => SidecarTcp(),
        "http" => SidecarHttp(),
        _ => Proxyless(),
    };

    private static void RoundTrip<T>(IReadOnlyList<T> messages, string typeUrl) where T : IMessage<T>, new()
    {
        using var json = JsonDocument.Parse(GoldenFiles.Render(messages.Cast<IMessage>()));
        var index = 0;
        foreach (var element in json.RootElement.EnumerateArray())
        {
            var original = messages[index++];
            Assert.Equal(original, Parser.Parse<T>(element.GetRawText()));
            var any = Any.Pack(original);
            Assert.Equal(typeUrl, any.TypeUrl);
            Assert.Equal(original, Any.Parser.ParseFrom(any.ToByteArray()).Unpack<T>());
        }
        Assert.Equal(messages.Count, index);
    }

    [Theory]
    [MemberData(nameof(Snapshots))]
    public void Clusters_RoundTrip(string name) => RoundTrip(ClusterBuilder.Build(Snapshot(name)).Clusters, Names.ClusterType);

    [Theory]
    [MemberData(nameof(Snapshots))]
    public void Endpoints_RoundTrip(string name) => RoundTrip(EndpointBuilder.Build(Snapshot(name)), Names.EndpointType);

    [Theory]
    [MemberData(nameof(Snapshots))]
    public void Routes_RoundTrip(string name) => RoundTrip(RouteBuilder.Build(Snapshot(name)), Names.RouteType);

    [Fact]
    public void Secrets_RoundTrip() => RoundTrip(SecretBuilder.Build(SidecarHttp()), Names.SecretType);
}
