using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Collections.Frozen;
using Mesh.Sidecar.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mesh.Sidecar.Tests.Http;

/// <summary>Forwarding behaviour: retries, timeouts, local replies, RBAC, gRPC, streaming and WebSocket.</summary>
public sealed class HttpProxyForwardingTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static async Task<ProxyHarness> ProxyTo(RouteActionConfig action, ClusterConfig cluster, params IPEndPoint[] endpoints)
    {
        var proxy = await ProxyHarness.StartAsync(Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), action))), cluster);
        proxy.Clusters.Set(cluster, endpoints);
        return proxy;
    }

    [Fact]
    public async Task HandleAsync_Upstream503ThenOk_RetriedUntilSuccess()
    {
        var hits = 0;
        await using var backend = await TestServer.StartAsync(async ctx =>
        {
            var n = Interlocked.Increment(ref hits);
            ctx.Response.StatusCode = n <= 2 ? 503 : 200;
            await ctx.Response.WriteAsync($"attempt {n} {ctx.Request.ContentLength} {await new StreamReader(ctx.Request.Body).ReadToEndAsync()}");
        });
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c", Build.Retry(3, on5xx: true)), cluster, backend.EndPoint);
        using var client = proxy.Client();

        var response = await client.PostAsync("/", new StringContent("payload"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("attempt 3 7 payload", await response.Content.ReadAsStringAsync());
        Assert.Equal(2, proxy.Metrics.UpstreamRetries.With("c").Value);
        Assert.Equal([false, false, true], proxy.Clusters.Reports.Select(r => r.Success));
    }

    [Fact]
    public async Task HandleAsync_RetriesExhausted_LastResponseReturned()
    {
        await using var backend = await TestServer.StartAsync(ctx => { ctx.Response.StatusCode = 502; return Task.CompletedTask; });
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c", Build.Retry(2, on5xx: true)), cluster, backend.EndPoint);
        using var client = proxy.Client();

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(2, proxy.Metrics.UpstreamRetries.With("c").Value);
    }

    [Fact]
    public async Task HandleAsync_ConnectFailure_RetriedOnTheOtherEndpoint()
    {
        await using var backend = await TestServer.StartAsync(ctx => ctx.Response.WriteAsync("up"));
        var dead = Build.ClosedPort();
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c", Build.Retry(1, onConnectFailure: true)), cluster, dead, backend.EndPoint);
        using var client = proxy.Client();

        for (var i = 0; i < 6; i++)
        {
            Assert.Equal("up", await client.GetStringAsync("/"));
        }

        Assert.Contains(proxy.Clusters.Reports, r => r.Endpoint.Equals(dead) && !r.Success);
        Assert.True(proxy.Metrics.UpstreamRetries.With("c").Value >= 1);
    }

    [Fact]
    public async Task HandleAsync_UpstreamResetsBeforeHeaders_RetriedOnReset()
    {
        var hits = 0;
        await using var backend = await TestServer.StartAsync(ctx =>
        {
            if (Interlocked.Increment(ref hits) == 1)
            {
                ctx.Abort();
                return Task.CompletedTask;
            }

            return ctx.Response.WriteAsync("second");
        });
        var cluster = Build.Cluster("c");
        var retry = new RetryPolicyConfig(1, false, true, false, false, false, [], null);
        await using var proxy = await ProxyTo(Build.To("c", retry), cluster, backend.EndPoint);
        using var client = proxy.Client();

        Assert.Equal("second", await client.GetStringAsync("/"));
        Assert.Equal(1, proxy.Metrics.UpstreamRetries.With("c").Value);
    }

    [Fact]
    public async Task HandleAsync_UpstreamResetsWithoutRetry_503ConnectionTermination()
    {
        await using var backend = await TestServer.StartAsync(ctx => { ctx.Abort(); return Task.CompletedTask; });
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c"), cluster, backend.EndPoint);
        using var client = proxy.Client();

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("upstream connect error or disconnect/reset before headers. reset reason: connection termination", await response.Content.ReadAsStringAsync());
        Assert.Equal([false], proxy.Clusters.Reports.Select(r => r.Success));
    }

    [Fact]
    public async Task HandleAsync_RetriableStatusCode_RetriedOnlyForListedCodes()
    {
        var hits = 0;
        await using var backend = await TestServer.StartAsync(ctx =>
        {
            ctx.Response.StatusCode = Interlocked.Increment(ref hits) == 1 ? 409 : 200;
            return Task.CompletedTask;
        });
        var cluster = Build.Cluster("c");
        var retry = new RetryPolicyConfig(2, false, false, false, false, true, [409], null);
        await using var proxy = await ProxyTo(Build.To("c", retry), cluster, backend.EndPoint);
        using var client = proxy.Client();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);
        Assert.Equal(2, hits);
    }

    [Fact]
    public async Task HandleAsync_ConnectFailureWithoutRetry_503UpstreamConnectError()
    {
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c"), cluster, Build.ClosedPort());
        using var client = proxy.Client();

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.StartsWith("upstream connect error or disconnect/reset before headers", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HandleAsync_UploadLongerThanRouteTimeout_TimeoutCountsFromTheEndOfTheBody()
    {
        await using var backend = await TestServer.StartAsync(async ctx =>
        {
            var length = 0L;
            var buffer = new byte[4096];
            int read;
            while ((read = await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted)) > 0) length += read;
            await ctx.Response.WriteAsync($"received {length}");
        });
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c", timeout: TimeSpan.FromMilliseconds(300)), cluster, backend.EndPoint);
        using var client = proxy.Client();

        // The body takes about a second to send, over three times the route timeout, in chunks without a length.
        var upload = new SlowContent(chunks: 10, chunk: 1000, pause: TimeSpan.FromMilliseconds(100));
        var response = await client.PostAsync("/upload", upload);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("received 10000", await response.Content.ReadAsStringAsync());
    }

    /// <summary>A request body written in pauses, with no Content-Length (so the proxy streams it).</summary>
    private sealed class SlowContent(int chunks, int chunk, TimeSpan pause) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var data = new byte[chunk];
            for (var i = 0; i < chunks; i++)
            {
                await stream.WriteAsync(data);
                await stream.FlushAsync();
                await Task.Delay(pause);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task HandleAsync_SlowUpstream_504AfterRouteTimeout()
    {
        await using var backend = await TestServer.StartAsync(async ctx =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted);
        });
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c", timeout: TimeSpan.FromMilliseconds(200)), cluster, backend.EndPoint);
        using var client = proxy.Client();

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("upstream request timeout", await response.Content.ReadAsStringAsync());
        Assert.Contains(proxy.Logs.Entries, e => e.Category == "Mesh.Sidecar.AccessLog" && e.Message.Contains(" 504 UT "));
    }

    [Fact]
    public async Task HandleAsync_NoEndpoints_503NoHealthyUpstream()
    {
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c"), cluster);
        using var client = proxy.Client();

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("no healthy upstream", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, proxy.Metrics.NoHealthyUpstream.With("c").Value);
    }

    [Fact]
    public async Task HandleAsync_UnknownCluster_503ClusterNotFound()
    {
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), Build.To("missing")))));
        using var client = proxy.Client();

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("cluster not found", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HandleAsync_RdsNotReceived_404NamingTheRouteConfiguration()
    {
        var hcm = new HttpConnectionManagerConfig("s", HttpCodec.Auto, null, "db", null, null, false);
        await using var proxy = await ProxyHarness.StartAsync(hcm);
        using var client = proxy.Client();

        var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("route configuration db not received", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HandleAsync_RdsArrivesLater_ServedFromTheNewState()
    {
        await using var backend = await TestServer.StartAsync(ctx => ctx.Response.WriteAsync("rds"));
        var cluster = Build.Cluster("c");
        var hcm = new HttpConnectionManagerConfig("s", HttpCodec.Auto, null, "db", null, null, false);
        await using var proxy = await ProxyHarness.StartAsync(hcm, cluster);
        proxy.Clusters.Set(cluster, backend.EndPoint);
        using var client = proxy.Client();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/")).StatusCode);

        var table = Build.Table(Build.Route(Build.Prefix("/"), Build.To("c"))) with { Name = "db" };
        proxy.State.Publish(proxy.State.Current with { Routes = new Dictionary<string, RouteTableConfig> { ["db"] = table }.ToFrozenDictionary() });

        Assert.Equal("rds", await client.GetStringAsync("/"));
    }

    [Fact]
    public async Task HandleAsync_RbacDenies_403NamingTheDenial()
    {
        var cluster = Build.Cluster("c");
        var web = new StringMatch(StringMatchKind.Exact, "spiffe://t/ns/default/dc/dc1/svc/web");
        var allow = new RbacConfig(RbacAction.Allow, [new RbacPolicy("consul-intentions-layer4", [new PermissionRule.Any()], [new PrincipalRule.Authenticated(web)])], "rbac");
        var deny = new RbacConfig(RbacAction.Deny, [new RbacPolicy("consul-intentions-layer7-0", [new PermissionRule.UrlPath(new StringMatch(StringMatchKind.Prefix, "/admin"))], [new PrincipalRule.Any()])], "rbac");
        var routes = Build.Table(Build.Route(Build.Prefix("/"), Build.To("c")));
        await using var proxy = await ProxyHarness.StartAsync(Build.Hcm(routes, allow), cluster);
        using var client = proxy.Client();

        var denied = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal("RBAC: access denied (no intention allows this request)", await denied.Content.ReadAsStringAsync());

        proxy.Publish(Build.Hcm(routes, deny), cluster);
        var byPolicy = await client.GetAsync("/admin/users");
        Assert.Equal(HttpStatusCode.Forbidden, byPolicy.StatusCode);
        Assert.StartsWith("RBAC: access denied", await byPolicy.Content.ReadAsStringAsync());
        Assert.Contains("consul-intentions-layer7-0", await byPolicy.Content.ReadAsStringAsync());
        Assert.Equal(2, proxy.Metrics.RbacDenied.With("upstream_test").Value);
        Assert.Contains(proxy.Logs.Entries, e => e.Category == "Mesh.Sidecar.AccessLog" && e.Message.Contains(" 403 RBAC "));
    }

    [Fact]
    public async Task HandleAsync_GrpcOverH2c_TrailersAndTeForwarded()
    {
        string? te = null;
        await using var backend = await TestServer.StartAsync(async ctx =>
        {
            te = ctx.Request.Headers.TE;
            var request = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(request);
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.Body.WriteAsync(request.ToArray());
            ctx.Response.AppendTrailer("grpc-status", "0");
            ctx.Response.AppendTrailer("grpc-message", "done");
        }, HttpProtocols.Http2);
        var cluster = Build.Cluster("g", UpstreamProtocol.Http2);
        await using var proxy = await ProxyTo(Build.To("g"), cluster, backend.EndPoint);
        using var client = proxy.Client(http2: true);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo.Echo/Say")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 2, 8, 1]) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.ParseAdd("trailers");
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(new byte[] { 0, 0, 0, 0, 2, 8, 1 }, body);
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
        Assert.Equal("done", response.TrailingHeaders.GetValues("grpc-message").Single());
        Assert.Equal("trailers", te);
        Assert.Equal(new Version(2, 0), response.Version);
    }

    [Fact]
    public async Task HandleAsync_StreamingRequestBody_ReachesUpstreamBeforeTheBodyEnds()
    {
        var firstChunkSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestServer.StartAsync(async ctx =>
        {
            var buffer = new byte[64];
            var total = 0;
            var read = await ctx.Request.Body.ReadAsync(buffer);
            total += read;
            firstChunkSeen.TrySetResult();
            while ((read = await ctx.Request.Body.ReadAsync(buffer)) > 0) total += read;
            await ctx.Response.WriteAsync($"got {total}");
        });
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c"), cluster, backend.EndPoint);
        using var client = proxy.Client();

        var content = new GatedContent(firstChunkSeen.Task);
        var response = await client.PostAsync("/upload", content).WaitAsync(Wait);

        Assert.Equal("got 10", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HandleAsync_WebSocket_EchoedThroughTheProxy()
    {
        await using var backend = await TestServer.StartAsync(async ctx =>
        {
            if (!ctx.WebSockets.IsWebSocketRequest) { ctx.Response.StatusCode = 400; return; }
            using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[1024];
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, ctx.RequestAborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", ctx.RequestAborted);
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, ctx.RequestAborted);
            }
        }, webSockets: true);
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c", timeout: TimeSpan.FromSeconds(2)), cluster, backend.EndPoint);

        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{proxy.EndPoint}/ws"), CancellationToken.None).WaitAsync(Wait);
        var buffer = new byte[1024];
        foreach (var text in new[] { "hello", "mesh" })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Wait);
            Assert.Equal(text, Encoding.UTF8.GetString(buffer, 0, result.Count));
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None).WaitAsync(Wait);
        Assert.Equal(WebSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task HandleAsync_ForwardedHeaders_RequestIdAndProtoAdded()
    {
        await using var backend = await TestServer.StartAsync(ctx =>
            ctx.Response.WriteAsync($"{ctx.Request.Headers["x-request-id"]}|{ctx.Request.Headers["x-forwarded-proto"]}|{ctx.Request.Headers["x-forwarded-client-cert"]}|{ctx.Request.Headers.Connection}"));
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c"), cluster, backend.EndPoint);
        using var client = proxy.Client();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("x-forwarded-client-cert", "By=spoofed");
        var parts = (await (await client.SendAsync(request)).Content.ReadAsStringAsync()).Split('|');
        using var withId = new HttpRequestMessage(HttpMethod.Get, "/");
        withId.Headers.Add("x-request-id", "req-1");
        var kept = (await (await client.SendAsync(withId)).Content.ReadAsStringAsync()).Split('|');

        Assert.True(Guid.TryParse(parts[0], out _), parts[0]);
        Assert.Equal("http", parts[1]);
        Assert.Equal("", parts[2]);
        Assert.Equal("req-1", kept[0]);
    }

    [Fact]
    public async Task HandleAsync_ClusterConfigReplaced_NewForwarderServesAndOldOneRetires()
    {
        await using var backend = await TestServer.StartAsync(ctx => ctx.Response.WriteAsync("ok"));
        var cluster = Build.Cluster("c");
        await using var proxy = await ProxyTo(Build.To("c"), cluster, backend.EndPoint);
        using var client = proxy.Client();
        Assert.Equal("ok", await client.GetStringAsync("/"));
        var connects = proxy.Clusters.Connects;

        var replaced = cluster with { ConnectTimeout = TimeSpan.FromSeconds(3) };
        proxy.Clusters.Set(replaced, backend.EndPoint);
        proxy.Publish(Build.Hcm(Build.Table(Build.Route(Build.Prefix("/"), Build.To("c")))), replaced);
        Assert.Equal("ok", await client.GetStringAsync("/"));

        Assert.Equal(connects + 1, proxy.Clusters.Connects);
        Assert.Equal(1, proxy.Proxy.ForwarderCount);
    }

    /// <summary>Sends five bytes, waits until the upstream has seen them, then sends five more.</summary>
    private sealed class GatedContent(Task gate) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync("abcde"u8.ToArray());
            await stream.FlushAsync();
            await gate.WaitAsync(Wait);
            await stream.WriteAsync("fghij"u8.ToArray());
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
