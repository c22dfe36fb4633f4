using System.Net;
using System.Text;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Agent;

public sealed class MonitorCommandTests
{
    [Fact]
    public async Task Monitor_StreamEnds_PrintsLinesThenRemoteEndedExit1()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/monitor", 200, "2026-01-01T00:00:00Z [INFO]  agent: one\n2026-01-01T00:00:01Z [INFO]  agent: two\n");
        var run = await cli.RunAsync("monitor", "-log-level=debug");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(["GET /v1/agent/monitor?loglevel=debug"], cli.Handler.Log);
        Assert.Equal("2026-01-01T00:00:00Z [INFO]  agent: one\n2026-01-01T00:00:01Z [INFO]  agent: two\n\n" +
                     "Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.\n", run.Out);
    }

    [Fact]
    public async Task Monitor_Defaults_InfoLevelAndJsonFlag()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/monitor", 200, "");
        await cli.RunAsync("monitor", "-log-json");
        Assert.Equal(["GET /v1/agent/monitor?logjson=true&loglevel=INFO"], cli.Handler.Log);
    }

    [Fact]
    public async Task Monitor_CtrlC_StopsStreamingExit0()
    {
        var cli = new CliHarness();
        var stream = new BlockingStream(Encoding.UTF8.GetBytes("first line\n"));
        cli.Handler.On("GET", "/v1/agent/monitor", _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(stream) });
        using var cts = new CancellationTokenSource();
        var running = cli.RunAsync(cts.Token, "monitor");
        await Eventually.TrueAsync(() => cli.OutSoFar.Contains("first line"), "the first log line");
        await cts.CancelAsync();
        var run = await running;
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("first line\n", run.Out);
    }

    [Fact]
    public async Task Monitor_Forbidden_ErrorStartingMonitor()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/monitor", 403, "Permission denied");
        var run = await cli.RunAsync("monitor");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error starting monitor: Unexpected response code: 403 (Permission denied)\n", run.Err);
    }

    /// <summary>Yields its bytes, then blocks until the reader cancels, like a live log stream.</summary>
    private sealed class BlockingStream(byte[] first) : Stream
    {
        private bool _sent;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (!_sent)
            {
                _sent = true;
                first.CopyTo(buffer);
                return first.Length;
            }
            await Task.Delay(Timeout.Infinite, ct);
            return 0;
        }
    }
}
