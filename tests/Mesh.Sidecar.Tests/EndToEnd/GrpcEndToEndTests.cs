using Mesh.Xds.Tests.Grpc;

namespace Mesh.Sidecar.Tests.EndToEnd;

/// <summary>
/// A real grpc-js client and server with two sidecars between them (service protocol <c>grpc</c>): h2c to the local
/// upstream listener, HTTP/2 over mTLS between the sidecars, h2c to the server. Unary calls, a bidirectional stream,
/// and an error status carried in trailers all arrive as the client would see them directly.
/// </summary>
[Collection("EndToEnd")]
public sealed class GrpcEndToEndTests
{
    [Fact]
    public async Task GrpcJs_ThroughTwoSidecars_UnaryBidiAndErrorStatusArriveIntact()
    {
        await using var server = await GrpcJsProcess.StartServerAsync();
        await using var mesh = await MeshTopology.StartAsync("grpc", appPort: server.Port);
        var target = $"127.0.0.1:{mesh.UpstreamPort}";

        await MeshTopology.EventuallyAsync(async () =>
        {
            var probe = await GrpcJsProcess.RunClientAsync(target, "unary");
            return probe.TryGetProperty("reply", out _);
        }, "a unary call through both sidecars");

        var unary = await GrpcJsProcess.RunClientAsync(target, "unary");
        Assert.Equal("hello", unary.GetProperty("reply").GetProperty("text").GetString());
        Assert.Equal("abc", unary.GetProperty("reply").GetProperty("metadata").GetString());

        var bidi = await GrpcJsProcess.RunClientAsync(target, "bidi");
        Assert.Equal(400, bidi.GetProperty("count").GetInt32());
        Assert.True(bidi.GetProperty("ordered").GetBoolean());
        Assert.Equal(0, bidi.GetProperty("status").GetProperty("code").GetInt32());

        var error = await GrpcJsProcess.RunClientAsync(target, "error");
        Assert.Equal(9, error.GetProperty("status").GetProperty("code").GetInt32());
        Assert.Equal("precondition failed: ünïcode % 100", error.GetProperty("status").GetProperty("details").GetString());
    }
}
