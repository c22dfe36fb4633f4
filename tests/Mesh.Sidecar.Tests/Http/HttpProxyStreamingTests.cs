using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Mesh.Sidecar.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Sidecar.Tests.Http;

/// <summary>HTTP/2 through the proxy: full-duplex streams, per-request balancing, stream idle timeouts.</summary>
public sealed class HttpProxyStreamingTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task HandleAsync_GrpcBidiStream_RepliesFlowBeforeTheRequestEnds()
    {
        // The backend answers each 4-byte message as it arrives; the client sends the second only after it has
        // read the first answer, which deadlocks unless both directions stream at once through the proxy.
        await using var backend = await TestServer.StartAsync(async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.StartAsync();
            var buffer = new byte[4];
            while (true)
            {
                var read = await ReadExactlyOrEndAsync(ctx.Request.Body, buffer);
                if (read == 0) break;
                await ctx.Response.Body.WriteAsync(buffer.Reverse().ToArray());
                await ctx.Response.Body.FlushAsync();
            }

            ctx.Response.AppendTrailer("grpc-status", "0");
        }, HttpProtocols.Http2);
        var cluster = Build.Cluster("g", UpstreamProtocol.Http2);
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), Build.To("g", timeout: TimeSpan.FromSeconds(1))))), cluster);
        proxy.Clusters.Set(cluster, backend.EndPoint);
        using var client = proxy.Client(http2: true);

        var outgoing = Channel.CreateUnbounded<byte[]>();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/chat.Chat/Talk")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ChannelContent(outgoing.Reader),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        await outgoing.Writer.WriteAsync([1, 2, 3, 4]);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Wait);
        var stream = await response.Content.ReadAsStreamAsync();
        var answer = new byte[4];

        await stream.ReadExactlyAsync(answer).AsTask().WaitAsync(Wait);
        Assert.Equal(new byte[] { 4, 3, 2, 1 }, answer);
        await outgoing.Writer.WriteAsync([5, 6, 7, 8]);
        await stream.ReadExactlyAsync(answer).AsTask().WaitAsync(Wait);
        Assert.Equal(new byte[] { 8, 7, 6, 5 }, answer);
        outgoing.Writer.Complete();

        Assert.Equal(0, await stream.ReadAsync(answer).AsTask().WaitAsync(Wait));
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
    }

    [Fact]
    public async Task HandleAsync_Http2Cluster_BalancesEachRequestAcrossEndpoints()
    {
        await using var a = await TestServer.StartAsync(ctx => ctx.Response.WriteAsync("a"), HttpProtocols.Http2);
        await using var b = await TestServer.StartAsync(ctx => ctx.Response.WriteAsync("b"), HttpProtocols.Http2);
        var cluster = Build.Cluster("g", UpstreamProtocol.Http2);
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), Build.To("g")))), cluster);
        proxy.Clusters.Set(cluster, a.EndPoint, b.EndPoint);
        using var client = proxy.Client(http2: true);

        var answers = new List<string>();
        for (var i = 0; i < 10; i++) answers.Add(await client.GetStringAsync("/"));

        Assert.Equal(5, answers.Count(x => x == "a"));
        Assert.Equal(5, answers.Count(x => x == "b"));
        // One multiplexed connection per endpoint, reused by every request to it.
        Assert.Equal(2, proxy.Clusters.Connects);
    }

    [Fact]
    public async Task HandleAsync_StreamIdleLongerThanIdleTimeout_StreamReset()
    {
        await using var backend = await TestServer.StartAsync(async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.Body.WriteAsync(new byte[] { 1 });
            await ctx.Response.Body.FlushAsync();
            await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted);
        }, HttpProtocols.Http2);
        var cluster = Build.Cluster("g", UpstreamProtocol.Http2);
        var action = new RouteActionConfig("g", null, null, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(300), null, []);
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), action))), cluster);
        proxy.Clusters.Set(cluster, backend.EndPoint);
        using var client = proxy.Client(http2: true);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/s.S/M")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Wait);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[16];
        Assert.Equal(1, await stream.ReadAsync(buffer));

        await Assert.ThrowsAnyAsync<Exception>(async () => await stream.ReadAsync(buffer).AsTask().WaitAsync(Wait));
        Assert.Contains(proxy.Logs.Entries, e => e.Category == "Mesh.Sidecar.AccessLog" && e.Message.Contains("UT"));
    }

    private static async Task<int> ReadExactlyOrEndAsync(Stream stream, byte[] buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(total));
            if (read == 0) return total;
            total += read;
        }

        return total;
    }

    /// <summary>Request content written from a channel as the test produces it.</summary>
    private sealed class ChannelContent(ChannelReader<byte[]> reader) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await foreach (var chunk in reader.ReadAllAsync())
            {
                await stream.WriteAsync(chunk);
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
