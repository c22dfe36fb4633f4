using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Xds;
using Mesh.Xds.Cache;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Xds;

/// <summary>The ADS client against a real agent's xDS server in this process.</summary>
public sealed class AdsClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const string DbUpstream = """{"DestinationName":"db","LocalBindAddress":"127.0.0.1","LocalBindPort":9191}""";

    /// <summary>A client with a running loop; disposing stops it.</summary>
    private sealed class Running : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public Running(Uri address, FakeTranslator translator, string? token = null)
        {
            Translator = translator;
            Client = new AdsClient(new AdsClientOptions(address, SidecarAgent.ProxyId, "web-sidecar-proxy")
            {
                Token = token,
                InitialBackoff = TimeSpan.FromMilliseconds(50),
                MaxBackoff = TimeSpan.FromMilliseconds(400),
            }, translator, State, Metrics, NullLogger<AdsClient>.Instance);
            _loop = Client.RunAsync(_stop.Token);
        }

        public FakeTranslator Translator { get; }
        public StateHolder State { get; } = new();
        public SidecarMetrics Metrics { get; } = new();
        public AdsClient Client { get; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop.WaitAsync(Timeout);
            Client.Dispose();
        }
    }

    private static async Task<SidecarState> StateAsync(StateHolder holder, Func<SidecarState, bool> condition)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var state = holder.Current;
        try
        {
            while (!condition(state))
            {
                await holder.WaitForChangeAsync(state, cts.Token);
                state = holder.Current;
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the state never matched; last: listeners [{string.Join(", ", state.Listeners.Keys)}], clusters " +
                        $"[{string.Join(", ", state.Clusters.Keys)}], endpoints [{string.Join(", ", state.Endpoints.Keys)}], secrets " +
                        $"[{string.Join(", ", state.Certificates.Keys.Concat(state.ValidationContexts.Keys))}]");
        }

        return state;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    private static bool Complete(SidecarState s) =>
        s.Listeners.Keys.Any(k => k.StartsWith("public_listener", StringComparison.Ordinal)) && s.Clusters.ContainsKey("local_app")
        && s.Certificates.ContainsKey("leaf") && s.ValidationContexts.ContainsKey("roots");

    [Fact]
    public async Task RunAsync_SidecarRegistered_PublishesStateAndAgentSeesAcks()
    {
        await using var agent = await SidecarAgent.StartAsync();
        await agent.RegisterProxyAsync(DbUpstream);
        await using var client = new Running(agent.Grpc, new FakeTranslator());

        var state = await StateAsync(client.State, s => Complete(s) && s.Listeners.Count == 2 && s.Endpoints.Count > 0);

        Assert.Contains(state.Listeners.Values, l => l.Direction == TrafficDirection.Outbound && l.Address.Port == 9191);
        // The agent answered as to a sidecar (public listener with mTLS), though the node does not say "envoy".
        Assert.Equal("leaf", state.Listeners.Values.Single(l => l.Direction == TrafficDirection.Inbound).Tls!.CertificateSecret);
        Assert.Equal(state.EndpointNames().ToArray(), state.Endpoints.Keys.Order(StringComparer.Ordinal).ToArray());
        await UntilAsync(async () => await agent.XdsCountAsync("cds", "acks") >= 1 && await agent.XdsCountAsync("lds", "acks") >= 1
                                     && await agent.XdsCountAsync("sds", "acks") >= 1 && await agent.XdsCountAsync("eds", "acks") >= 1,
            "the agent to count ACKs");
        Assert.Equal(0, await agent.XdsCountAsync("cds", "nacks"));
        Assert.True(client.Metrics.XdsUpdates.With("CDS").Value >= 1);
        Assert.Equal(1, client.Metrics.XdsConnected.With().Value);
        Assert.Contains(TypeUrls.Listener, client.Client.AcceptedTypes);
    }

    [Fact]
    public async Task RunAsync_StateNeedsNewNames_SubscribesEndpointsAndRoutesThatFollow()
    {
        await using var agent = await SidecarAgent.StartAsync();
        await using var client = new Running(agent.Grpc, new FakeTranslator());
        var first = await StateAsync(client.State, Complete);
        Assert.Empty(first.EndpointNames());
        Assert.Empty(first.RouteNames());

        // An HTTP upstream: its cluster needs EDS, its listener RDS.
        await agent.PutAsync("/v1/config", """{"Kind":"service-defaults","Name":"db","Protocol":"http"}""");
        await agent.RegisterProxyAsync(DbUpstream);
        var state = await StateAsync(client.State, s => s.EndpointNames().Length > 0 && s.Endpoints.Count == s.EndpointNames().Length
                                                        && s.RouteNames().Length > 0 && s.Routes.Count == s.RouteNames().Length);

        Assert.Equal(state.EndpointNames().ToArray(), state.Endpoints.Keys.Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(state.RouteNames().ToArray(), state.Routes.Keys.Order(StringComparer.Ordinal).ToArray());
        var endpointCalls = client.Translator.Calls.Where(c => c.Type == TypeUrls.Endpoint).ToList();
        Assert.NotEmpty(endpointCalls);
        Assert.All(endpointCalls, c => Assert.Subset(state.EndpointNames().ToHashSet(), c.Names.ToHashSet()));

        // The upstream goes away: the names follow, and the agent answers the smaller subscription.
        await agent.RegisterProxyAsync();
        await StateAsync(client.State, s => s.EndpointNames().Length == 0 && s.RouteNames().Length == 0 && s.Endpoints.Count == 0);
    }

    [Fact]
    public async Task RunAsync_TranslatorRejects_NacksWithItsMessageAndKeepsOldState()
    {
        await using var agent = await SidecarAgent.StartAsync();
        var translator = new FakeTranslator();
        await using var client = new Running(agent.Grpc, translator);
        var before = await StateAsync(client.State, Complete);
        translator.Reject = (type, names) => type == TypeUrls.Cluster && names.Any(n => n.StartsWith("db.", StringComparison.Ordinal))
            ? "cluster db: lb_policy CLUSTER_PROVIDED is not supported"
            : null;

        await agent.RegisterProxyAsync(DbUpstream);
        await UntilAsync(async () => await agent.XdsCountAsync("cds", "nacks") >= 1, "the agent to count the NACK");

        Assert.Contains("cluster db: lb_policy CLUSTER_PROVIDED is not supported", agent.Log);
        Assert.Equal(1, client.Metrics.XdsRejected.With("CDS").Value);
        Assert.Equal(before.Clusters.Keys.Order().ToArray(), client.State.Current.Clusters.Keys.Order().ToArray());
        Assert.DoesNotContain(client.State.Current.Clusters.Keys, k => k.StartsWith("db.", StringComparison.Ordinal));

        // Once the translator accepts again, the next version of the clusters (another upstream) is taken whole.
        translator.Reject = (_, _) => null;
        await agent.RegisterProxyAsync(DbUpstream, DbUpstream.Replace("db", "cache", StringComparison.Ordinal).Replace("9191", "9192", StringComparison.Ordinal));
        await StateAsync(client.State, s => s.Clusters.Keys.Any(k => k.StartsWith("db.", StringComparison.Ordinal))
                                            && s.Clusters.Keys.Any(k => k.StartsWith("cache.", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RunAsync_AgentStopsAndReturnsOnSamePort_KeepsStateThenResumes()
    {
        var agent = await SidecarAgent.StartAsync();
        var port = agent.Grpc.Port;
        await using var client = new Running(agent.Grpc, new FakeTranslator());
        var kept = await StateAsync(client.State, Complete);
        var streams = client.Client.StreamsOpened;

        await agent.DisposeAsync();
        var deadline = DateTime.UtcNow + Timeout;
        while (client.Metrics.XdsConnected.With().Value != 0 || client.Client.StreamsOpened < streams + 2)
        {
            // Disconnected, and retrying (at least two more attempts against the closed port).
            Assert.True(DateTime.UtcNow < deadline, "the client did not notice the agent was gone and retry");
            await Task.Delay(20);
        }

        Assert.Same(kept, client.State.Current);

        await using var back = await SidecarAgent.StartAsync(port);
        await back.RegisterProxyAsync(DbUpstream);
        await StateAsync(client.State, s => Complete(s) && s.Listeners.Count == 2);
        Assert.Equal(1, client.Metrics.XdsConnected.With().Value);
        await UntilAsync(async () => await back.XdsCountAsync("lds", "acks") >= 1, "the returned agent to count an ACK");
    }

    [Fact]
    public async Task RunAsync_TokenGiven_SendsItAsConsulTokenMetadata()
    {
        await using var agent = await SidecarAgent.StartAsync();
        await using var client = new Running(agent.Grpc, new FakeTranslator(), token: "secret-token");

        // The dev agent has no ACLs, so any token serves; this proves the call with the header is well formed.
        await StateAsync(client.State, Complete);
    }
}
