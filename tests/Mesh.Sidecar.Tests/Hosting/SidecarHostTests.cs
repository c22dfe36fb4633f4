using System.Text.Json;
using Envoy.Service.Discovery.V3;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Hosting;
using Mesh.Sidecar.Tests.Xds;
using Mesh.Xds.Cache;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Hosting;

/// <summary>The host: warming, the admin endpoints, apply failures, shutdown.</summary>
public sealed class SidecarHostTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly PresetTranslator _translator = new();
    private readonly RecordingListenerManager _listeners = new();
    private readonly HttpClient _http = new() { Timeout = Timeout };
    private ScriptedAdsServer _server = null!;
    private SidecarHost _host = null!;
    private int _nonce;

    public async Task InitializeAsync()
    {
        _server = await ScriptedAdsServer.StartAsync();
        _host = SidecarHost.Create(new SidecarOptions
            {
                ProxyId = "web-sidecar-proxy",
                AgentGrpcAddress = _server.Address,
                AdminBind = "127.0.0.1:0",
                DrainTimeout = TimeSpan.FromMilliseconds(1234),
                InitialReconnectBackoff = TimeSpan.FromMilliseconds(20),
                MaxReconnectBackoff = TimeSpan.FromMilliseconds(100),
            }, NullLoggerFactory.Instance, _translator,
            _ => new NoClusters(), (_, _) => new NoHttp(), (_, _, _) => _listeners);
        _translator.ByType[TypeUrls.Cluster] = s => s.WithClusters(States.LocalApp);
        _translator.ByType[TypeUrls.Listener] = s => s.WithListeners(States.Public);
        _translator.ByType[TypeUrls.Secret] = s => s.WithSecrets();
        await _host.StartAsync(CancellationToken.None);
        _http.BaseAddress = _host.AdminAddress;
        await _server.ReceiveAsync();
        await _server.ReceiveAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _server.DisposeAsync();
        _http.Dispose();
    }

    /// <summary>Sends a response of <paramref name="type"/> and waits for its answer.</summary>
    private async Task<DiscoveryRequest> DeliverAsync(string type)
    {
        var nonce = (++_nonce).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _server.Send(new DiscoveryResponse { TypeUrl = type, VersionInfo = "v" + nonce, Nonce = nonce });
        while (true)
        {
            var request = await _server.ReceiveAsync();
            if (request.ResponseNonce == nonce && request.TypeUrl == type) return request;
        }
    }

    private async Task<SidecarState> AppliedAsync(Func<SidecarState, bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var last = _listeners.Applied.LastOrDefault();
            if (last is not null && condition(last)) return last;
            Assert.True(DateTime.UtcNow < deadline, "the listener manager was not given the expected state");
            await Task.Delay(10);
        }
    }

    private async Task<(int Status, string Body)> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task StartAsync_ListenerWithoutItsSecrets_IsNotHandedOverUntilTheyArrive()
    {
        await DeliverAsync(TypeUrls.Cluster);
        await DeliverAsync(TypeUrls.Listener);
        await AppliedAsync(s => s.Clusters.ContainsKey("local_app") && _host.Accepted.Current.Listeners.Count == 1);

        Assert.All(_listeners.Applied, s => Assert.Empty(s.Listeners));
        Assert.Equal(503, (await GetAsync("/ready")).Status);

        // The listener's TLS names what SDS must bring; the client subscribes to exactly that.
        var sds = await _server.ReceiveAsync();
        Assert.Equal(TypeUrls.Secret, sds.TypeUrl);
        Assert.Equal(["leaf", "roots"], sds.ResourceNames.ToArray());
        await DeliverAsync(TypeUrls.Secret);

        var served = await AppliedAsync(s => s.Listeners.Count == 1);
        Assert.Same(States.Public, served.Listeners.Values.Single());
        await WaitReadyAsync();
        Assert.Equal((200, "LIVE\n"), await GetAsync("/ready"));
    }

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!_host.IsReady)
        {
            Assert.True(DateTime.UtcNow < deadline, "the host did not become ready");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Metrics_AfterUpdates_ServesPrometheusTextWithXdsCounts()
    {
        await DeliverAsync(TypeUrls.Cluster);

        using var response = await _http.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("mesh_sidecar_xds_updates_total{type=\"CDS\"} 1\n", text);
        Assert.Contains("# TYPE mesh_sidecar_xds_connected gauge\nmesh_sidecar_xds_connected 1\n", text);
    }

    [Fact]
    public async Task ConfigDump_WarmState_DescribesListenersClustersAndSecretsWithoutKeys()
    {
        await DeliverAsync(TypeUrls.Cluster);
        await DeliverAsync(TypeUrls.Listener);
        await DeliverAsync(TypeUrls.Secret);
        await AppliedAsync(s => s.Listeners.Count == 1);

        var (status, body) = await GetAsync("/config_dump");

        Assert.Equal(200, status);
        Assert.DoesNotContain("PRIVATE", body);
        var dump = JsonDocument.Parse(body).RootElement;
        var listener = dump.GetProperty("listeners")[0];
        Assert.Equal(("public_listener:127.0.0.1:21000", "127.0.0.1:21000", true, "tcp_proxy"),
            (listener.GetProperty("name").GetString(), listener.GetProperty("address").GetString(), listener.GetProperty("warm").GetBoolean(),
                listener.GetProperty("app").GetProperty("type").GetString()));
        var cluster = dump.GetProperty("clusters")[0];
        Assert.Equal(("local_app", "static", "round_robin", "127.0.0.1:8080", "healthy"),
            (cluster.GetProperty("name").GetString(), cluster.GetProperty("kind").GetString(), cluster.GetProperty("lb").GetString(),
                cluster.GetProperty("endpoints")[0].GetProperty("address").GetString(), cluster.GetProperty("endpoints")[0].GetProperty("health").GetString()));
        var leaf = dump.GetProperty("secrets").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "leaf");
        Assert.Equal(_host.Accepted.Current.Certificates["leaf"].Certificate.SerialNumber, leaf.GetProperty("serial").GetString());
        Assert.StartsWith("spiffe://", leaf.GetProperty("uri_sans")[0].GetString());
        Assert.Equal(["CDS", "LDS", "SDS"], dump.GetProperty("xds").GetProperty("accepted_types").EnumerateArray().Select(t => t.GetString()).Order());
    }

    [Fact]
    public async Task Admin_UnknownPathOrMethod_AnswersNotFoundOrNotAllowed()
    {
        Assert.Equal(404, (await GetAsync("/quitquitquit")).Status);
        using var post = await _http.PostAsync("/metrics", null);
        Assert.Equal(405, (int)post.StatusCode);
    }

    [Fact]
    public async Task StartAsync_ApplyFails_RetriesWithTheNextState()
    {
        _listeners.FailNext = new XdsConfigException("listener public_listener: address 127.0.0.1:21000 is in use");
        await DeliverAsync(TypeUrls.Secret);
        await DeliverAsync(TypeUrls.Cluster);
        await DeliverAsync(TypeUrls.Listener);

        await AppliedAsync(s => s.Listeners.Count == 1);
        await WaitReadyAsync();
    }

    [Fact]
    public async Task StopAsync_Running_DrainsWithTheTimeoutAndClosesListeners()
    {
        await _host.StopAsync();

        Assert.Equal(TimeSpan.FromMilliseconds(1234), _listeners.DrainedWith);
        Assert.True(_listeners.Disposed);
        Assert.False(_host.IsReady);
        await Assert.ThrowsAsync<HttpRequestException>(() => _http.GetAsync("/ready"));
    }
}
