using System.Net;
using System.Net.Sockets;
using System.Text;
using Mesh.Cli.Http;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Http;

public sealed class ApiClientTests
{
    [Fact]
    public void BuildUri_ParametersAndOptions_SortedLikeGoWithBareFlags()
    {
        using var client = new ApiClient(new ApiConfig { Datacenter = "dc2" }, new StubHandler());
        var uri = client.BuildUri("/v1/kv/a", [new("recurse", null), new("tag", "b"), new("tag", "a")],
            new QueryOptions { AllowStale = true, WaitIndex = 7, WaitTime = TimeSpan.FromSeconds(15) });
        Assert.Equal("http://127.0.0.1:8500/v1/kv/a?dc=dc2&index=7&recurse&stale&tag=b&tag=a&wait=15000ms", uri.AbsoluteUri);
    }

    [Theory]
    [InlineData("a/b c", "a/b%20c")]
    [InlineData("x?y#z", "x%3Fy%23z")]
    [InlineData("k=v@host:1", "k=v@host:1")]
    [InlineData("é", "%C3%A9")]
    public void EscapePath_Keys_EscapedLikeGoPaths(string key, string escaped) => Assert.Equal(escaped, ApiClient.EscapePath(key));

    [Fact]
    public async Task SendAsync_Token_SentAsConsulHeader()
    {
        var stub = new StubHandler().On("GET", "/v1/status/leader", 200, "\"a:1\"");
        using var client = new ApiClient(new ApiConfig { Token = "t0k" }, stub);
        Assert.Equal("a:1", await client.Agent.LeaderAsync(default));
        Assert.Equal("t0k", Assert.Single(stub.Requests).Token);
    }

    [Fact]
    public async Task KvGet_NotFound_ReturnsNullWithIndex()
    {
        var stub = new StubHandler().On("GET", "/v1/kv/missing", 404, "", index: 42);
        using var client = new ApiClient(new ApiConfig(), stub);
        var (pair, meta) = await client.Kv.GetAsync("missing", null, default);
        Assert.Null(pair);
        Assert.Equal(42UL, meta.LastIndex);
    }

    [Fact]
    public async Task KvGet_ErrorStatus_ThrowsWithBody()
    {
        var stub = new StubHandler().On("GET", "/v1/kv/k", 400, "Invalid wait time\n");
        using var client = new ApiClient(new ApiConfig(), stub);
        var e = await Assert.ThrowsAsync<ApiException>(() => client.Kv.GetAsync("k", null, default));
        Assert.Equal("Unexpected response code: 400 (Invalid wait time)", e.Message);
        Assert.False(e.IsRetryable);
    }

    [Fact]
    public async Task Send_ConnectionRefused_ReadsLikeGoDialError()
    {
        var port = ClosedPort();
        using var client = new ApiClient(ApiConfig.FromAddress($"127.0.0.1:{port}", false));
        var e = await Assert.ThrowsAsync<ApiException>(() => client.Kv.GetAsync("foo", null, default));
        Assert.Equal($"Get \"http://127.0.0.1:{port}/v1/kv/foo\": dial tcp 127.0.0.1:{port}: connect: connection refused", e.Message);
        Assert.True(e.IsRetryable);
    }

    [Fact]
    public async Task Send_UnixSocket_TalksHttpOverTheSocket()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mesh-cli-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var server = Task.Run(async () =>
        {
            using var conn = await listener.AcceptAsync();
            var request = new StringBuilder();
            var buffer = new byte[4096];
            while (!request.ToString().Contains("\r\n\r\n"))
                request.Append(Encoding.ASCII.GetString(buffer, 0, await conn.ReceiveAsync(buffer)));
            const string body = "[\"a/\",\"b\"]";
            await conn.SendAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: 9\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
            return request.ToString();
        });
        try
        {
            using var client = new ApiClient(ApiConfig.FromAddress("unix://" + path, false));
            var (keys, meta) = await client.Kv.KeysAsync("", "/", null, default);
            Assert.Equal(["a/", "b"], keys);
            Assert.Equal(9UL, meta.LastIndex);
            Assert.StartsWith("GET /v1/kv/?keys&separator=%2F HTTP/1.1", await server);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void IdToIndex_EventId_XorsUuidHalves()
    {
        // lower = 0x0000000100020003, upper = 0x0004000000000005
        Assert.Equal(0x0000000100020003UL ^ 0x0004000000000005UL, EventEndpoint.IdToIndex("00000001-0002-0003-0004-000000000005"));
    }

    internal static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
