using System.Text.Json;
using Google.Protobuf;
using Mesh.Xds.Grpc;
using Mesh.Xds.Tests.Grpc.Echo;

namespace Mesh.Xds.Tests.Grpc;

/// <summary>
/// Mesh's gRPC layer against the real @grpc/grpc-js, both ways: grpc-js clients calling Mesh's server, and Mesh's
/// client calling a grpc-js server (tests/interop/grpc-js).
/// </summary>
public sealed class GrpcJsInteropTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task GrpcJsClient_Unary_ReplyWithMetadataAndPayload()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());

        var result = await GrpcJsProcess.RunClientAsync(Target(host), "unary");

        var reply = result.GetProperty("reply");
        Assert.Equal("hello", reply.GetProperty("text").GetString());
        Assert.Equal("abc", reply.GetProperty("metadata").GetString());
        Assert.Equal([1, 2, 3], reply.GetProperty("payload").EnumerateArray().Select(e => e.GetInt32()));
        // grpc-js sends its deadline as grpc-timeout.
        Assert.NotNull((await service.Started.Task.WaitAsync(Wait)).Deadline);
    }

    [Fact]
    public async Task GrpcJsClient_Tls_UnaryOverAlpnH2()
    {
        using var certificate = GrpcTestHost.SelfSignedCertificate();
        var caFile = Path.Combine(Path.GetTempPath(), $"mesh-grpc-ca-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(caFile, certificate.ExportCertificatePem());
        try
        {
            var service = new TestEchoService();
            await using var host = await GrpcTestHost.StartAsync(service.Router(), certificate: certificate);

            var result = await GrpcJsProcess.RunClientAsync(Target(host), "unary", "--tls", caFile);

            Assert.Equal("hello", result.GetProperty("reply").GetProperty("text").GetString());
        }
        finally
        {
            File.Delete(caFile);
        }
    }

    [Fact]
    public async Task GrpcJsClient_Bidi_AllRepliesInOrderThenOk()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());

        var result = await GrpcJsProcess.RunClientAsync(Target(host), "bidi");

        Assert.Equal(401, result.GetProperty("count").GetInt32());
        Assert.Equal("m0", result.GetProperty("first").GetString());
        Assert.Equal("received 200", result.GetProperty("last").GetString());
        Assert.True(result.GetProperty("ordered").GetBoolean());
        Assert.Equal(0, result.GetProperty("status").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task GrpcJsClient_HandlerError_StatusAndDecodedMessage()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());

        var result = await GrpcJsProcess.RunClientAsync(Target(host), "error");

        var status = result.GetProperty("status");
        Assert.Equal((int)StatusCode.FailedPrecondition, status.GetProperty("code").GetInt32());
        Assert.Equal("precondition failed: ünïcode % 100", status.GetProperty("details").GetString());
    }

    [Fact]
    public async Task GrpcJsClient_Deadline_DeadlineExceededAndHandlerCancelled()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());

        var result = await GrpcJsProcess.RunClientAsync(Target(host), "deadline");

        Assert.Equal((int)StatusCode.DeadlineExceeded, result.GetProperty("status").GetProperty("code").GetInt32());
        Assert.InRange(result.GetProperty("elapsedMs").GetInt32(), 1400, 15000);
        var context = await service.Cancelled.Task.WaitAsync(Wait);
        Assert.True(context.CancellationToken.IsCancellationRequested);
    }

    [Fact]
    public async Task GrpcJsClient_UnknownMethod_Unimplemented()
    {
        var service = new TestEchoService();
        await using var host = await GrpcTestHost.StartAsync(service.Router());

        var result = await GrpcJsProcess.RunClientAsync(Target(host), "unknown");

        Assert.Equal((int)StatusCode.Unimplemented, result.GetProperty("status").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task GrpcJsServer_Unary_ReplyWithMetadataAndPayload()
    {
        await using var server = await GrpcJsProcess.StartServerAsync();
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{server.Port}"));

        var reply = await channel.UnaryAsync(TestEchoService.EchoPath,
            new EchoRequest { Text = "hi node", Payload = ByteString.CopyFrom(9, 8, 7) }, EchoReply.Parser,
            new GrpcCallOptions { Headers = new GrpcMetadata().Add("x-mesh-test", "from-dotnet"), Deadline = DateTime.UtcNow.AddSeconds(20) });

        Assert.Equal("hi node", reply.Text);
        Assert.Equal(new byte[] { 9, 8, 7 }, reply.Payload.ToByteArray());
        Assert.Equal("from-dotnet", reply.Metadata);
    }

    [Fact]
    public async Task GrpcJsServer_UnaryError_StatusFromTrailersOnly()
    {
        await using var server = await GrpcJsProcess.StartServerAsync();
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{server.Port}"));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(TestEchoService.EchoPath,
            new EchoRequest { Text = "nope: ünï 50%", FailCode = (int)StatusCode.NotFound }, EchoReply.Parser));

        Assert.Equal(new GrpcStatus(StatusCode.NotFound, "nope: ünï 50%"), ex.Status);
    }

    [Fact]
    public async Task GrpcJsServer_UnaryDeadline_DeadlineExceeded()
    {
        await using var server = await GrpcJsProcess.StartServerAsync();
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{server.Port}"));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(TestEchoService.EchoPath,
            new EchoRequest { DelayMs = 10_000 }, EchoReply.Parser, new GrpcCallOptions { Deadline = DateTime.UtcNow.AddMilliseconds(300) }));

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
    }

    [Fact]
    public async Task GrpcJsServer_Bidi_InterleavedRepliesThenOk()
    {
        await using var server = await GrpcJsProcess.StartServerAsync();
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{server.Port}"));
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser,
            new GrpcCallOptions { Headers = new GrpcMetadata().Add("x-mesh-test", "chat") });

        // Ping-pong first: each reply arrives before the next request is sent, so the stream is truly duplex.
        for (var i = 0; i < 20; i++)
        {
            await call.WriteAsync(new EchoRequest { Text = $"p{i}", Repeat = 2 });
            Assert.Equal($"p{i}", (await call.ReadAsync().AsTask().WaitAsync(Wait))!.Text);
            Assert.Equal("chat", (await call.ReadAsync().AsTask().WaitAsync(Wait))!.Metadata);
        }

        for (var i = 0; i < 500; i++)
        {
            await call.WriteAsync(new EchoRequest { Text = $"b{i}" });
        }

        await call.CompleteRequestsAsync();
        var rest = await call.ReadAllAsync().ToListAsync().AsTask().WaitAsync(Wait);

        Assert.Equal(500, rest.Count);
        Assert.Equal(Enumerable.Range(40, 500), rest.Select(r => r.Index));
        Assert.Equal(StatusCode.OK, call.Status!.Value.Code);
    }

    [Fact]
    public async Task GrpcJsServer_BidiError_RepliesThenStatus()
    {
        await using var server = await GrpcJsProcess.StartServerAsync();
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{server.Port}"));
        await using var call = channel.StartDuplex<EchoRequest, EchoReply>(TestEchoService.ChatPath, EchoReply.Parser);

        await call.WriteAsync(new EchoRequest { Text = "one" });
        Assert.Equal("one", (await call.ReadAsync().AsTask().WaitAsync(Wait))!.Text);
        await call.WriteAsync(new EchoRequest { Text = "denied", FailCode = (int)StatusCode.PermissionDenied });

        var ex = await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal(new GrpcStatus(StatusCode.PermissionDenied, "denied"), ex.Status);
    }

    [Fact]
    public async Task GrpcJsServer_UnknownMethod_Unimplemented()
    {
        await using var server = await GrpcJsProcess.StartServerAsync();
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{server.Port}"));

        var ex = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync("/mesh.test.EchoService/Nope", new EchoRequest(), EchoReply.Parser));

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    private static string Target(GrpcTestHost host) => $"127.0.0.1:{host.GrpcAddress.Port}";
}
