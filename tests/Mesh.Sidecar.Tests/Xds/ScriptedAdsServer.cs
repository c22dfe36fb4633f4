using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Envoy.Service.Discovery.V3;
using Mesh.Sidecar.Xds;
using Mesh.Xds.Grpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Sidecar.Tests.Xds;

/// <summary>
/// An ADS endpoint whose test drives the conversation: every request of the (latest) stream comes out of
/// <see cref="ReceiveAsync"/>, and <see cref="SendAsync"/> writes a response on it. For asserting the exact wire
/// messages the client sends (node, metadata, ACK/NACK fields), which the real server does not expose.
/// </summary>
internal sealed class ScriptedAdsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<DiscoveryRequest> _requests = Channel.CreateUnbounded<DiscoveryRequest>();
    private volatile Channel<DiscoveryResponse>? _responses;

    private ScriptedAdsServer(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    /// <summary>The metadata of each stream, in order.</summary>
    public List<GrpcMetadata> Streams { get; } = [];

    /// <summary>Starts on a free loopback port: h2c, or TLS with <paramref name="certificate"/>.</summary>
    public static async Task<ScriptedAdsServer> StartAsync(X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseGrpc(certificate)));
        var app = builder.Build();
        var server = new ScriptedAdsServer(app);
        var router = new GrpcRouter().MapDuplex<DiscoveryRequest, DiscoveryResponse>(AdsClient.StreamMethod, DiscoveryRequest.Parser,
            (requests, responses, context) => server.ServeAsync(requests, responses, context));
        var grpc = new GrpcServer(router, new GrpcServerOptions(), NullLogger<GrpcServer>.Instance);
        app.UseGrpc(grpc);
        await app.StartAsync();
        server.Address = new Uri(app.Urls.First());
        return server;
    }

    public async Task<DiscoveryRequest> ReceiveAsync() =>
        await _requests.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Writes a response on the latest stream (the test has seen a request from it, so it exists).</summary>
    public void Send(DiscoveryResponse response) => Assert.True(_responses!.Writer.TryWrite(response));

    /// <summary>Ends the latest stream with UNAVAILABLE.</summary>
    public void Break() => _responses!.Writer.TryComplete(new GrpcException(StatusCode.Unavailable, "scripted break"));

    private async Task ServeAsync(IAsyncEnumerable<DiscoveryRequest> requests, GrpcStreamWriter<DiscoveryResponse> responses, GrpcCallContext context)
    {
        // Each stream has its own response queue, made before any of its requests can be seen.
        var outgoing = Channel.CreateUnbounded<DiscoveryResponse>();
        _responses = outgoing;
        lock (Streams) Streams.Add(context.RequestHeaders);
        var reading = Task.Run(async () =>
        {
            await foreach (var request in requests.WithCancellation(context.CancellationToken)) await _requests.Writer.WriteAsync(request);
        });
        await foreach (var response in outgoing.Reader.ReadAllAsync(context.CancellationToken)) await responses.WriteAsync(response);
        await reading.WaitAsync(context.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _responses?.Writer.TryComplete();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
