using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Mesh.Xds.Grpc;
using Mesh.Xds.Tests.Grpc.Echo;
using Microsoft.Extensions.Logging;

namespace Mesh.Xds.Tests.Grpc;

/// <summary>Mesh's gRPC client against Mesh's gRPC server on real Kestrel, over loopback.</summary>
public sealed class GrpcEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Unary_MetadataAndPayload_EchoedBack()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);

        var reply = await channel.UnaryAsync(TestEchoService.EchoPath,
            new EchoRequest { Text = "hello", Payload = ByteString.CopyFrom(1, 2, 3) }, EchoReply.Parser,
            new GrpcCallOptions { Headers = new GrpcMetadata().Add("x-mesh-test", "abc") });

        Assert.Equal("hello", reply.Text);
        Assert.Equal(new byte[] { 1, 2, 3 }, reply.Payload.ToByteArray());
        Assert.Equal("abc", reply.Metadata);
        var context = await service.Started.Task.WaitAsync(Wait);
        Assert.Equal(TestEchoService.EchoPath, context.Method);
        Assert.StartsWith("127.0.0.1:", context.Peer);
        Assert.Null(context.Deadline);
        Assert.Equal(1, host.Server.Counters.CallsFinished(StatusCode.OK));
    }

    [Fact]
    public async Task MapGrpc_EndpointRouting_ServesMethodsAndLeavesOtherPathsToRouting()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router(), endpointRouting: true);
        using var channel = new GrpcChannel(host.GrpcAddress);

        var reply = await channel.UnaryAsync(TestEchoService.EchoPath, new EchoRequest { Text = "routed" }, EchoReply.Parser);
        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync("/mesh.test.EchoService/Nope", new EchoRequest(), EchoReply.Parser));

        Assert.Equal("routed", reply.Text);
        // No route: routing answers 404, which a gRPC client reads as UNIMPLEMENTED.
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
        using var api = new HttpClient();
        Assert.Equal("api", await api.GetStringAsync(host.ApiAddress));
    }

    [Fact]
    public async Task Duplex_WriteAfterServerEndedWithError_ThrowsTheStatus()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser);

        await call.WriteAsync(new EchoRequest { Text = "stop", FailCode = (int)StatusCode.Aborted });
        await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync().AsTask().WaitAsync(Wait));
        var ex = await Assert.ThrowsAsync<GrpcException>(() => call.WriteAsync(new EchoRequest()).AsTask());

        Assert.Equal(new GrpcStatus(StatusCode.Aborted, "stop"), ex.Status);
    }

    [Fact]
    public async Task Duplex_HandlerCancelsItsOwnEnumeration_PendingReadWakesUp()
    {
        // The handler stops reading on a token of its own (not the call's) while a read waits for the client.
        var router = new GrpcRouter().MapDuplex<EchoRequest, EchoReply>("/mesh.test.Own/Stop", EchoRequest.Parser, async (requests, responses, context) =>
        {
            using var own = new CancellationTokenSource();
            try
            {
                await foreach (var request in requests.WithCancellation(own.Token))
                {
                    own.CancelAfter(TimeSpan.FromMilliseconds(100));
                }
            }
            catch (OperationCanceledException) when (own.IsCancellationRequested)
            {
                await responses.WriteAsync(new EchoReply { Text = "stopped" });
            }
        });
        await using var host = await GrpcTestHost.StartAsync(router);
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>("/mesh.test.Own/Stop", EchoReply.Parser);

        await call.WriteAsync(new EchoRequest { Text = "only one" });

        Assert.Equal("stopped", (await call.ReadAsync().AsTask().WaitAsync(Wait))!.Text);
        Assert.Null(await call.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(StatusCode.OK, call.Status!.Value.Code);
    }

    [Fact]
    public async Task Duplex_ManyMessagesBothWays_AllInOrderThenOk()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser);
        const int count = 2000;

        // Write and read at the same time: the server answers each request with two replies as it arrives.
        var writing = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await call.WriteAsync(new EchoRequest { Text = $"m{i}", Repeat = 2 });
            }

            await call.CompleteRequestsAsync();
        });
        var replies = new List<EchoReply>();
        await foreach (var reply in call.ReadAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            replies.Add(reply);
        }

        await writing;
        Assert.Equal(2 * count + 1, replies.Count);
        Assert.Equal(Enumerable.Range(0, 2 * count + 1), replies.Select(r => r.Index));
        Assert.Equal("m0", replies[0].Text);
        Assert.Equal($"m{count - 1}", replies[2 * count - 1].Text);
        Assert.Equal(new GrpcStatus(StatusCode.OK, ""), call.Status);
    }

    [Fact]
    public async Task Duplex_HalfClose_ServerSeesEndAndStillReplies()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser);

        await call.WriteAsync(new EchoRequest { Text = "a" });
        Assert.Equal("a", (await call.ReadAsync().AsTask().WaitAsync(Wait))!.Text);
        Assert.False(service.HalfClosed.Task.IsCompleted);
        await call.CompleteRequestsAsync();

        Assert.NotNull(await call.ResponseHeadersAsync());
        Assert.Equal(1, await service.HalfClosed.Task.WaitAsync(Wait));
        Assert.Equal("received 1", (await call.ReadAsync().AsTask().WaitAsync(Wait))!.Text);
        Assert.Null(await call.ReadAsync());
        Assert.Equal(StatusCode.OK, call.Status!.Value.Code);
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.WriteAsync(new EchoRequest()).AsTask());
    }

    [Fact]
    public async Task ServerStreaming_ConcurrentWrites_EveryFrameWhole()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.CountdownPath, EchoReply.Parser);
        var payload = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(20_000));

        await call.WriteAsync(new EchoRequest { Text = "x", Repeat = 200, Payload = payload });
        await call.CompleteRequestsAsync();
        var replies = await call.ReadAllAsync().ToListAsync().AsTask().WaitAsync(Wait);

        Assert.Equal(Enumerable.Range(0, 200), replies.Select(r => r.Index).Order());
        Assert.All(replies, r => Assert.Equal(payload, r.Payload));
    }

    [Fact]
    public async Task Unary_HandlerThrowsGrpcException_StatusAndEncodedMessageInTrailersOnly()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(TestEchoService.EchoPath,
            new EchoRequest { Text = "no: ünïcode 100%\nnext line", FailCode = (int)StatusCode.FailedPrecondition }, EchoReply.Parser));

        Assert.Equal(new GrpcStatus(StatusCode.FailedPrecondition, "no: ünïcode 100%\nnext line"), ex.Status);
        Assert.Equal(1, host.Server.Counters.CallsFinished(StatusCode.FailedPrecondition));
    }

    [Fact]
    public async Task Duplex_HandlerThrowsAfterMessages_RepliesThenStatusInTrailers()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser);

        await call.WriteAsync(new EchoRequest { Text = "ok" });
        await call.WriteAsync(new EchoRequest { Text = "quota gone", FailCode = (int)StatusCode.ResourceExhausted });

        Assert.Equal("ok", (await call.ReadAsync().AsTask().WaitAsync(Wait))!.Text);
        var ex = await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(new GrpcStatus(StatusCode.ResourceExhausted, "quota gone"), ex.Status);
        Assert.Equal(ex.Status, call.Status);
    }

    [Fact]
    public async Task Unary_HandlerCrashes_InternalWithSafeMessageLoggedAndServerKeepsServing()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(TestEchoService.CrashPath, new EchoRequest(), EchoReply.Parser));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.DoesNotContain("secret", ex.Status.Detail);
        Assert.Contains(host.Logger.Entries, e => e.Level == LogLevel.Error && e.Exception?.Message == "secret internal detail");
        Assert.Equal("still here", (await channel.UnaryAsync(TestEchoService.EchoPath, new EchoRequest { Text = "still here" }, EchoReply.Parser)).Text);
    }

    [Fact]
    public async Task Unary_DeadlineExceeded_ClientGetsDeadlineExceededAndHandlerTokenFires()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        // Long enough for the call to reach the handler on a busy machine, which the test needs to see cancelled.
        var deadline = DateTime.UtcNow.AddMilliseconds(1500);

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(TestEchoService.EchoPath,
            new EchoRequest { Text = "slow", DelayMs = 30_000 }, EchoReply.Parser, new GrpcCallOptions { Deadline = deadline }));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        var context = await service.Cancelled.Task.WaitAsync(Wait);
        Assert.NotNull(context.Deadline);
        // The server's deadline comes from grpc-timeout, so it is close to the client's (never earlier than sent).
        Assert.InRange(context.Deadline!.Value, deadline.AddSeconds(-1), deadline.AddSeconds(5));
    }

    [Fact]
    public async Task RawRequest_GrpcTimeoutPasses_ServerEndsCallWithDeadlineExceeded()
    {
        // No client-side timer here (a gRPC client would reset the stream at its own deadline): only the server's.
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var http = RawClient();
        var request = RawRequest(host.GrpcAddress, TestEchoService.EchoPath, GrpcProtocolTests.Frame(new EchoRequest { DelayMs = 30_000 }));
        request.Headers.TryAddWithoutValidation("grpc-timeout", "200m");

        using var response = await http.SendAsync(request).WaitAsync(Wait);
        await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(("4", "the deadline passed"), StatusOf(response));
        Assert.True((await service.Cancelled.Task.WaitAsync(Wait)).CancellationToken.IsCancellationRequested);
        Assert.Equal(1, host.Server.Counters.CallsFinished(StatusCode.DeadlineExceeded));
    }

    [Fact]
    public async Task Unary_DeadlineAlreadyPassed_FailsWithoutCallingTheServer()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(TestEchoService.EchoPath,
            new EchoRequest(), EchoReply.Parser, new GrpcCallOptions { Deadline = DateTime.UtcNow.AddSeconds(-1) }));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Equal(0, host.Server.Counters.CallsStarted);
    }

    [Fact]
    public async Task Duplex_TokenCancelledBeforeStart_CancelledWithoutCallingTheServer()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser,
            new GrpcCallOptions { CancellationToken = new CancellationToken(canceled: true) });

        var write = await Assert.ThrowsAsync<GrpcException>(() => call.WriteAsync(new EchoRequest()).AsTask());
        var read = await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync().AsTask());

        Assert.Equal(StatusCode.Cancelled, write.StatusCode);
        Assert.Equal(StatusCode.Cancelled, read.StatusCode);
        Assert.Equal(0, host.Server.Counters.CallsStarted);
    }

    [Fact]
    public async Task Duplex_ClientCancels_HandlerTokenFiresAndCallEndsCancelled()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        using var cancellation = new CancellationTokenSource();
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser,
            new GrpcCallOptions { CancellationToken = cancellation.Token });
        await call.WriteAsync(new EchoRequest { Text = "first" });
        Assert.Equal("first", (await call.ReadAsync().AsTask().WaitAsync(Wait))!.Text);

        await cancellation.CancelAsync();

        var context = await service.Cancelled.Task.WaitAsync(Wait);
        Assert.True(context.CancellationToken.IsCancellationRequested);
        var ex = await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync().AsTask());
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        await Assert.ThrowsAsync<GrpcException>(() => call.WriteAsync(new EchoRequest()).AsTask());
        await WaitUntilAsync(() => host.Server.Counters.CallsFinished(StatusCode.Cancelled) == 1);
        Assert.False(service.HalfClosed.Task.IsCompleted);
    }

    [Fact]
    public async Task Duplex_ServerShutsDown_HandlerTokenFiresAndCallEndsUnavailable()
    {
        var service = new TestEchoService();
        var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser);
        await call.WriteAsync(new EchoRequest { Text = "before" });
        Assert.Equal("before", (await call.ReadAsync().AsTask().WaitAsync(Wait))!.Text);

        var stopping = host.DisposeAsync().AsTask();

        var ex = await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(new GrpcStatus(StatusCode.Unavailable, "the server is shutting down"), ex.Status);
        await stopping.WaitAsync(Wait);
        Assert.True((await service.Cancelled.Task.WaitAsync(Wait)).CancellationToken.IsCancellationRequested);
    }

    [Fact]
    public async Task Duplex_MessageOverServerLimit_ResourceExhaustedAndCounted()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router(), new GrpcServerOptions { MaxReceiveMessageSize = 1024 });
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser);

        await call.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[2048]) });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("larger than the limit of 1024", ex.Status.Detail);
        Assert.Equal(1, host.Server.Counters.OversizeMessages);
    }

    [Fact]
    public async Task Unary_ResponseOverClientLimit_ResourceExhausted()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress, new GrpcChannelOptions { MaxReceiveMessageSize = 100 });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(TestEchoService.EchoPath,
            new EchoRequest { Payload = ByteString.CopyFrom(new byte[500]) }, EchoReply.Parser));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Unary_UnknownMethod_Unimplemented()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync("/mesh.test.EchoService/Nope", new EchoRequest(), EchoReply.Parser));

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
        Assert.Contains("/mesh.test.EchoService/Nope", ex.Status.Detail);
    }

    [Fact]
    public async Task Duplex_UnknownMethodAndOnlyWriting_WritesFailWithUnimplemented()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var channel = new GrpcChannel(host.GrpcAddress);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>("/mesh.test.EchoService/Nope", EchoReply.Parser);

        // The caller never reads: the trailers-only answer must still reach the writer, which must not hang.
        var ex = await Assert.ThrowsAsync<GrpcException>(async () =>
        {
            while (true)
            {
                await call.WriteAsync(new EchoRequest { Text = "x" });
            }
        }).WaitAsync(Wait);

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0, 10, 0x0A, 1 }, "incomplete gRPC message")]
    [InlineData(new byte[] { 0, 0, 0, 0, 2, 0xFF, 0xFF }, "could not parse")]
    [InlineData(new byte[] { 1, 0, 0, 0, 0 }, "compressed")]
    [InlineData(new byte[] { }, "without a message")]
    public async Task RawRequest_MalformedBody_InternalCountedAndServerKeepsServing(byte[] body, string detail)
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var http = RawClient();

        using var response = await http.SendAsync(RawRequest(host.GrpcAddress, TestEchoService.EchoPath, body));
        await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (status, message) = StatusOf(response);
        Assert.Equal("13", status);
        Assert.Contains(detail, message);
        Assert.Equal(1, host.Server.Counters.MalformedMessages);
        using var channel = new GrpcChannel(host.GrpcAddress);
        Assert.Equal("fine", (await channel.UnaryAsync(TestEchoService.EchoPath, new EchoRequest { Text = "fine" }, EchoReply.Parser)).Text);
    }

    [Fact]
    public async Task RawRequest_TwoMessagesOnUnary_Internal()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var http = RawClient();
        var frame = GrpcProtocolTests.Frame(new EchoRequest { Text = "a" });

        using var response = await http.SendAsync(RawRequest(host.GrpcAddress, TestEchoService.EchoPath, [.. frame, .. frame]));
        await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(("13", "the request carried more than one message; a unary request carries exactly one"), StatusOf(response));
    }

    [Fact]
    public async Task RawRequest_WrongContentType_415AndNotGrpcPassesThroughOnApiPort()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var http = RawClient();
        var request = RawRequest(host.GrpcAddress, TestEchoService.EchoPath, []);
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("13", StatusOf(response).Status);
        using var api = new HttpClient();
        Assert.Equal("api", await api.GetStringAsync(host.ApiAddress));
    }

    [Fact]
    public async Task RawRequest_Get_405WithAllowPost()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var http = RawClient();

        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(host.GrpcAddress, TestEchoService.EchoPath))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        });

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("POST", string.Join(",", response.Content.Headers.Allow));
    }

    [Theory]
    [InlineData("10x", "13")]
    [InlineData("0m", "4")]
    public async Task RawRequest_BadOrZeroTimeout_RefusedWithStatus(string timeout, string expectedStatus)
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var http = RawClient();
        var request = RawRequest(host.GrpcAddress, TestEchoService.EchoPath, GrpcProtocolTests.Frame(new EchoRequest()));
        request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);

        using var response = await http.SendAsync(request);

        Assert.Equal(expectedStatus, StatusOf(response).Status);
        Assert.False(service.Started.Task.IsCompleted);
    }

    [Fact]
    public async Task RawRequest_GzipEncoding_UnimplementedWithAcceptEncoding()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());
        using var http = RawClient();
        var request = RawRequest(host.GrpcAddress, TestEchoService.EchoPath, [1, 0, 0, 0, 0]);
        request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");

        using var response = await http.SendAsync(request);

        Assert.Equal("12", StatusOf(response).Status);
        Assert.Equal("identity", response.Headers.GetValues("grpc-accept-encoding").Single());
    }

    [Fact]
    public async Task Duplex_ThousandStreamsOverLimitedConnections_AllServed()
    {
        var service = new TestEchoService();
        // A low per-connection stream limit makes the client open several connections, as it must at scale.
        await using var host = await GrpcTestHost.StartAsync(service.Router(), new GrpcServerOptions { MaxStreamsPerConnection = 100 });
        using var channel = new GrpcChannel(host.GrpcAddress);
        const int streams = 1000;
        var calls = Enumerable.Range(0, streams)
            .Select(_ => channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser))
            .ToList();
        try
        {
            // Every stream is open at once: each answers a first message before any is closed.
            await Task.WhenAll(calls.Select(async (call, i) =>
            {
                await call.WriteAsync(new EchoRequest { Text = $"s{i}" });
                Assert.Equal($"s{i}", (await call.ReadAsync())!.Text);
            })).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(streams, host.Server.Counters.CallsActive);

            await Task.WhenAll(calls.Select(async call =>
            {
                await call.CompleteRequestsAsync();
                Assert.Equal("received 1", (await call.ReadAsync())!.Text);
                Assert.Null(await call.ReadAsync());
            })).WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            foreach (var call in calls)
            {
                await call.DisposeAsync();
            }
        }

        await WaitUntilAsync(() => host.Server.Counters.CallsFinished(StatusCode.OK) == streams);
    }

    [Fact]
    public async Task Tls_AlpnH2WithCertificate_UnaryAndDuplexWork()
    {
        using var certificate = GrpcTestHost.SelfSignedCertificate();
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router(), certificate: certificate);
        Assert.Equal("https", host.GrpcAddress.Scheme);
        using var channel = new GrpcChannel(host.GrpcAddress, new GrpcChannelOptions
        {
            ServerCertificateValidation = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == certificate.GetCertHashString(),
        });

        Assert.Equal("secure", (await channel.UnaryAsync(TestEchoService.EchoPath, new EchoRequest { Text = "secure" }, EchoReply.Parser)).Text);
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser);
        await call.WriteAsync(new EchoRequest { Text = "d" });
        await call.CompleteRequestsAsync();
        Assert.Equal(["d", "received 1"], (await call.ReadAllAsync().ToListAsync()).Select(r => r.Text));
    }

    [Fact]
    public async Task Tls_UntrustedCertificate_Unavailable()
    {
        using var certificate = GrpcTestHost.SelfSignedCertificate();
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router(), certificate: certificate);
        using var channel = new GrpcChannel(host.GrpcAddress);

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(TestEchoService.EchoPath, new EchoRequest(), EchoReply.Parser));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    [Fact]
    public async Task Unary_NoServerListening_Unavailable()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{port}"));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(TestEchoService.EchoPath, new EchoRequest(), EchoReply.Parser));

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    private static HttpClient RawClient() => new(new SocketsHttpHandler()) { DefaultRequestVersion = HttpVersion.Version20 };

    private static HttpRequestMessage RawRequest(Uri address, string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        return new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
    }

    /// <summary>grpc-status and grpc-message from the trailers, or from the headers of a trailers-only response.</summary>
    private static (string? Status, string Message) StatusOf(HttpResponseMessage response)
    {
        foreach (var headers in new System.Net.Http.Headers.HttpHeaders[] { response.TrailingHeaders, response.Headers })
        {
            if (headers.TryGetValues("grpc-status", out var status))
            {
                var message = headers.TryGetValues("grpc-message", out var m) ? GrpcProtocol.DecodeMessage(m.Single()) : "";
                return (status.Single(), message);
            }
        }

        return (null, "");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
