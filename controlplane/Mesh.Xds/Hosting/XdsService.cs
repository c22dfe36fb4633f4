using Envoy.Service.Discovery.V3;
using Mesh.State;
using Mesh.Xds.Grpc;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Server;
using Microsoft.Extensions.Logging;

namespace Mesh.Xds.Hosting;

/// <summary>What the agent tells the xDS service about itself.</summary>
/// <param name="NodeName">This agent's node: the sidecars it configures are registered there.</param>
/// <param name="Datacenter">This agent's datacenter.</param>
/// <param name="DefaultAllow">Whether connections no intention matches are allowed (<c>default_intention_policy</c>, else the ACL default).</param>
internal sealed record XdsServiceOptions(string NodeName, string Datacenter, bool DefaultAllow);

/// <summary>
/// The agent's xDS service: the ADS methods (state of the world and incremental) on a <see cref="GrpcServer"/>, fed by
/// proxycfg through the snapshot cache. The host puts <see cref="Grpc"/> on its gRPC endpoints.
/// </summary>
internal sealed class XdsService : IAsyncDisposable
{
    /// <summary>The state-of-the-world ADS method.</summary>
    public const string StreamMethod = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";

    /// <summary>The incremental ADS method.</summary>
    public const string DeltaMethod = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";

    private readonly ProxyResourceSource _source;
    private readonly AdsServer _ads;

    /// <summary>Creates the service.</summary>
    /// <param name="store">The state store.</param>
    /// <param name="leaves">The agent's leaf certificates; null when Connect is off.</param>
    /// <param name="options">Who the agent is.</param>
    /// <param name="grpcOptions">Limits and keepalive of the gRPC server.</param>
    /// <param name="loggerFactory">Loggers.</param>
    public XdsService(StateStore store, ILeafSource? leaves, XdsServiceOptions options, GrpcServerOptions grpcOptions, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(grpcOptions);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _source = new ProxyResourceSource(store, new SnapshotAssembler(options.NodeName, options.Datacenter, options.DefaultAllow), leaves,
            loggerFactory.CreateLogger("Mesh.Xds.ProxyCfg"));
        _ads = new AdsServer(_source, loggerFactory.CreateLogger<AdsServer>());
        var router = new GrpcRouter()
            .MapDuplex<DiscoveryRequest, DiscoveryResponse>(StreamMethod, DiscoveryRequest.Parser,
                (requests, responses, context) => Serve(context, ct =>
                    _ads.StreamAggregatedResourcesAsync(requests, (r, c) => responses.WriteAsync(r, c), context.Peer, ct)))
            .MapDuplex<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(DeltaMethod, DeltaDiscoveryRequest.Parser,
                (requests, responses, context) => Serve(context, ct =>
                    _ads.DeltaAggregatedResourcesAsync(requests, (r, c) => responses.WriteAsync(r, c), context.Peer, ct)));
        Grpc = new GrpcServer(router, grpcOptions, loggerFactory.CreateLogger<GrpcServer>());
    }

    /// <summary>The gRPC server carrying the ADS methods.</summary>
    public GrpcServer Grpc { get; }

    /// <summary>Streams, responses, ACKs and NACKs by type.</summary>
    public XdsCounters Counters => _ads.Counters;

    /// <summary>Proxies being watched (one entry for all proxyless clients).</summary>
    public int WatchedProxies => _source.Watched;

    /// <summary>Snapshots published since start.</summary>
    public long SnapshotsPublished => _source.Published;

    /// <summary>Load assignments serialised since start.</summary>
    public long AssignmentsMade => _source.AssignmentsMade;

    /// <summary>The ADS server's stream errors become the call's gRPC status.</summary>
    private static async Task Serve(GrpcCallContext context, Func<CancellationToken, Task> run)
    {
        try
        {
            await run(context.CancellationToken).ConfigureAwait(false);
        }
        catch (XdsStreamException ex)
        {
            throw new GrpcException((StatusCode)ex.StatusCode, ex.Message);
        }
    }

    /// <summary>Ends every stream with UNAVAILABLE (proxies reconnect) and stops watching.</summary>
    public async ValueTask DisposeAsync()
    {
        _ads.Shutdown();
        await _source.DisposeAsync().ConfigureAwait(false);
        _ads.Dispose();
    }
}
