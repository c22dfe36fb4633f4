using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Mesh.Xds.Cache;
using Mesh.Xds.Grpc;
using Mesh.Xds.Hosting;

namespace Mesh.Xds.Tests.EndToEnd;

/// <summary>
/// A state-of-the-world ADS client over Mesh's own gRPC client, for end-to-end tests: subscribes as a given node,
/// ACKs every response (as Envoy does) and hands the test each response in the order it arrived.
/// </summary>
internal sealed class AdsTestClient : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly GrpcDuplexCall<DiscoveryRequest, DiscoveryResponse> _call;
    private readonly Channel<DiscoveryResponse> _responses = Channel.CreateUnbounded<DiscoveryResponse>();
    private readonly Dictionary<string, string[]> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Version, string Nonce)> _last = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private readonly Node _node;
    private bool _sentNode;

    public AdsTestClient(int grpcPort, string nodeId, string userAgent = "envoy")
    {
        _channel = new GrpcChannel(new Uri($"http://127.0.0.1:{grpcPort}"));
        _call = _channel.StartDuplex<DiscoveryRequest, DiscoveryResponse>(XdsService.StreamMethod, DiscoveryResponse.Parser);
        _node = new Node { Id = nodeId, Cluster = nodeId, UserAgentName = userAgent };
        _reader = Task.Run(ReadAsync);
    }

    /// <summary>Asks for <paramref name="typeUrl"/> (no names: a wildcard, for LDS and CDS).</summary>
    public async Task SubscribeAsync(string typeUrl, params string[] names)
    {
        await _write.WaitAsync();
        try
        {
            _names[typeUrl] = names;
            var request = new DiscoveryRequest { TypeUrl = typeUrl };
            if (!_sentNode) request.Node = _node;
            _sentNode = true;
            if (_last.TryGetValue(typeUrl, out var last))
            {
                request.VersionInfo = last.Version;
                request.ResponseNonce = last.Nonce;
            }
            request.ResourceNames.AddRange(names);
            await _call.WriteAsync(request);
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>The next response of any type.</summary>
    public async Task<DiscoveryResponse> NextAsync(TimeSpan? timeout = null)
    {
        try
        {
            return await _responses.Reader.ReadAsync().AsTask().WaitAsync(timeout ?? TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no ADS response within {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds:0}s (status: {_call.Status})");
        }
    }

    /// <summary>Reads responses until one of <paramref name="typeUrl"/> arrives, returning it and the types read before it.</summary>
    public async Task<(DiscoveryResponse Response, List<string> Before)> NextOfAsync(string typeUrl)
    {
        var before = new List<string>();
        while (true)
        {
            var r = await NextAsync();
            if (r.TypeUrl == typeUrl) return (r, before);
            before.Add(TypeUrls.ShortName(r.TypeUrl));
        }
    }

    /// <summary>Unpacks every resource of a response.</summary>
    public static List<T> Unpack<T>(DiscoveryResponse response) where T : IMessage, new() =>
        response.Resources.Select(r => r.Unpack<T>()).ToList();

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ReadAsync(_stop.Token) is { } response)
            {
                await _write.WaitAsync();
                try
                {
                    _last[response.TypeUrl] = (response.VersionInfo, response.Nonce);
                    var ack = new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce };
                    ack.ResourceNames.AddRange(_names.GetValueOrDefault(response.TypeUrl) ?? []);
                    await _call.WriteAsync(ack);
                }
                finally
                {
                    _write.Release();
                }
                _responses.Writer.TryWrite(response);
            }
            _responses.Writer.TryComplete();
        }
        catch (Exception ex)
        {
            _responses.Writer.TryComplete(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _call.DisposeAsync();
        try
        {
            await _reader;
        }
        catch (OperationCanceledException)
        {
        }
        _channel.Dispose();
        _stop.Dispose();
    }
}
