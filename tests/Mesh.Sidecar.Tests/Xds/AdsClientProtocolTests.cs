using Envoy.Service.Discovery.V3;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Xds;
using Mesh.Xds.Cache;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Xds;

/// <summary>The exact messages the ADS client sends, against a scripted server.</summary>
public sealed class AdsClientProtocolTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _stop = new();
    private readonly FakeTranslator _translator = new();
    private readonly StateHolder _state = new();
    private readonly SidecarMetrics _metrics = new();
    private ScriptedAdsServer _server = null!;
    private AdsClient _client = null!;
    private Task _loop = Task.CompletedTask;

    public async Task InitializeAsync()
    {
        _server = await ScriptedAdsServer.StartAsync();
        _client = new AdsClient(new AdsClientOptions(_server.Address, "web-sidecar-proxy", "web-sidecar-proxy")
        {
            Token = "t0ken",
            InitialBackoff = TimeSpan.FromMilliseconds(20),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
        }, _translator, _state, _metrics, NullLogger<AdsClient>.Instance);
        _loop = _client.RunAsync(_stop.Token);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.WaitAsync(TimeSpan.FromSeconds(30));
        _client.Dispose();
        await _server.DisposeAsync();
    }

    private static DiscoveryResponse Response(string type, string version, string nonce) => new() { TypeUrl = type, VersionInfo = version, Nonce = nonce };

    [Fact]
    public async Task RunAsync_NewStream_SubscribesClustersThenListenersAsSidecarNodeWithToken()
    {
        var cds = await _server.ReceiveAsync();
        var lds = await _server.ReceiveAsync();

        Assert.Equal((TypeUrls.Cluster, 0, "", ""), (cds.TypeUrl, cds.ResourceNames.Count, cds.VersionInfo, cds.ResponseNonce));
        Assert.Equal(("web-sidecar-proxy", "web-sidecar-proxy", "mesh-sidecar"), (cds.Node.Id, cds.Node.Cluster, cds.Node.UserAgentName));
        Assert.False(string.IsNullOrEmpty(cds.Node.UserAgentVersion));
        Assert.Equal((TypeUrls.Listener, 0), (lds.TypeUrl, lds.ResourceNames.Count));
        Assert.Null(lds.Node);
        Assert.Equal("t0ken", _server.Streams[0].Get("x-consul-token"));
    }

    [Fact]
    public async Task RunAsync_ResponseRejected_NacksWithKeptVersionNonceAndInvalidArgument()
    {
        await _server.ReceiveAsync();
        await _server.ReceiveAsync();
        _server.Send(Response(TypeUrls.Cluster, "v1", "n1"));
        var ack = await _server.ReceiveAsync();
        Assert.Equal((TypeUrls.Cluster, "v1", "n1"), (ack.TypeUrl, ack.VersionInfo, ack.ResponseNonce));
        Assert.Null(ack.ErrorDetail);
        var accepted = _state.Current;

        _translator.Reject = (_, _) => "cluster x: unsupported lb_policy";
        _server.Send(Response(TypeUrls.Cluster, "v2", "n2"));
        var nack = await _server.ReceiveAsync();

        Assert.Equal((TypeUrls.Cluster, "v1", "n2"), (nack.TypeUrl, nack.VersionInfo, nack.ResponseNonce));
        Assert.Equal((3, "cluster x: unsupported lb_policy"), (nack.ErrorDetail.Code, nack.ErrorDetail.Message));
        Assert.Same(accepted, _state.Current);
        Assert.Equal(1, _metrics.XdsRejected.With("CDS").Value);
        Assert.Equal(1, _metrics.XdsUpdates.With("CDS").Value);
    }

    [Fact]
    public async Task RunAsync_UnknownType_NacksIt()
    {
        await _server.ReceiveAsync();
        await _server.ReceiveAsync();
        _server.Send(Response("type.googleapis.com/envoy.service.runtime.v3.Runtime", "r1", "n1"));

        var nack = await _server.ReceiveAsync();

        Assert.Equal("n1", nack.ResponseNonce);
        Assert.Contains("not one this proxy subscribes to", nack.ErrorDetail.Message);
    }

    [Fact]
    public async Task RunAsync_StreamBreaks_ReconnectsWithAcceptedVersionsAndNoNonce()
    {
        await _server.ReceiveAsync();
        await _server.ReceiveAsync();
        _server.Send(Response(TypeUrls.Cluster, "c7", "n1"));
        await _server.ReceiveAsync();
        _server.Send(Response(TypeUrls.Listener, "l3", "n2"));
        await _server.ReceiveAsync();
        Assert.Equal(1, _metrics.XdsConnected.With().Value);
        var kept = _state.Current;

        _server.Break();
        var cds = await _server.ReceiveAsync();
        var lds = await _server.ReceiveAsync();

        Assert.Equal((TypeUrls.Cluster, "c7", "", "web-sidecar-proxy"), (cds.TypeUrl, cds.VersionInfo, cds.ResponseNonce, cds.Node.Id));
        Assert.Equal((TypeUrls.Listener, "l3", ""), (lds.TypeUrl, lds.VersionInfo, lds.ResponseNonce));
        Assert.Same(kept, _state.Current);
        Assert.Equal(2, _server.Streams.Count);
        Assert.Equal(2, _client.StreamsOpened);
    }
}
