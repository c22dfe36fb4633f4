using Mesh.State.Tables;
using System.Net;
using System.Net.Sockets;
using Mesh.Agent.Checks;

namespace Mesh.Agent.Tests.Checks;

public sealed class SocketCheckTests
{
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task TcpProbe_Listening_PassingWithConsulOutput()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var target = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        var probe = new TcpCheckProbe(new CheckDefinition { TCP = target, Interval = CheckKit.Interval });

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(new CheckResult(HealthStatus.Passing, $"TCP connect {target}: Success"), result);
    }

    [Fact]
    public async Task Monitor_TcpListenerClosed_TurnsCritical()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var target = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        var sink = new ResultSink();
        await using var monitor = CheckKit.Monitor(new CheckDefinition { TCP = target, Interval = CheckKit.Interval, Timeout = ShortTimeout }, sink);

        Assert.Equal(HealthStatus.Passing, (await sink.NextAsync()).Status);
        listener.Stop();
        listener.Dispose();

        var critical = await sink.NextAsync();
        Assert.Equal(HealthStatus.Critical, critical.Status);
        Assert.StartsWith($"dial tcp {target}: ", critical.Output);
    }

    [Fact]
    public async Task UdpProbe_SilentListener_PassingAfterTimeout()
    {
        using var server = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = $"127.0.0.1:{((IPEndPoint)server.Client.LocalEndPoint!).Port}";
        var probe = new UdpCheckProbe(new CheckDefinition { UDP = target, Interval = CheckKit.Interval, Timeout = ShortTimeout });

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(new CheckResult(HealthStatus.Passing, $"UDP connect {target}: Success"), result);
        // The datagram really arrived (Consul sends its check message, empty by default).
        var received = await server.ReceiveAsync().WaitAsync(ResultSink.Wait);
        Assert.Empty(received.Buffer);
    }

    [Fact]
    public async Task UdpProbe_ReplyingListener_PassingBeforeTimeout()
    {
        using var server = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = $"127.0.0.1:{((IPEndPoint)server.Client.LocalEndPoint!).Port}";
        var echo = Task.Run(async () =>
        {
            var datagram = await server.ReceiveAsync();
            await server.SendAsync(new byte[] { 1, 2, 3 }, datagram.RemoteEndPoint);
        });
        var probe = new UdpCheckProbe(new CheckDefinition { UDP = target, Interval = CheckKit.Interval, Timeout = TimeSpan.FromSeconds(5) });

        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Passing, result.Status);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(4), $"waited for the timeout ({started.Elapsed}) despite a reply");
        await echo.WaitAsync(ResultSink.Wait);
    }

    [Fact]
    public async Task UdpProbe_ClosedPort_Critical()
    {
        int port;
        using (var gone = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            port = ((IPEndPoint)gone.Client.LocalEndPoint!).Port;
        }

        var target = $"127.0.0.1:{port}";
        var probe = new UdpCheckProbe(new CheckDefinition { UDP = target, Interval = CheckKit.Interval, Timeout = TimeSpan.FromSeconds(5) });

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Critical, result.Status);
        Assert.Contains($"udp {target}: ", result.Output);
    }
}
