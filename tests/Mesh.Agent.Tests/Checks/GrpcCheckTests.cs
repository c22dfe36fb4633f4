using Mesh.State.Tables;
using System.Diagnostics;
using Mesh.Agent.Checks;
using Mesh.Agent.Tests.Fixtures;

namespace Mesh.Agent.Tests.Checks;

/// <summary>
/// The gRPC check against a real grpc-js health server (tests/interop/grpc-health, installed by tests/setup.sh).
/// </summary>
public sealed class GrpcCheckTests
{
    [Fact]
    public async Task ProbeAsync_ServerServing_Passing()
    {
        await using var server = await GrpcHealthServer.StartAsync("=SERVING");
        using var probe = Probe(server.Target);

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(new CheckResult(HealthStatus.Passing, $"gRPC check {server.Target}: success"), result);
    }

    [Fact]
    public async Task ProbeAsync_NamedServiceServing_Passing()
    {
        await using var server = await GrpcHealthServer.StartAsync("=NOT_SERVING", "billing=SERVING");
        using var probe = Probe(server.Target + "/billing");

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(HealthStatus.Passing, result.Status);
    }

    [Fact]
    public async Task ProbeAsync_NotServing_CriticalWithServingStatus()
    {
        await using var server = await GrpcHealthServer.StartAsync("=SERVING", "billing=NOT_SERVING");
        var target = server.Target + "/billing";
        using var probe = Probe(target);

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(new CheckResult(HealthStatus.Critical, $"gRPC {target} serving status: NOT_SERVING"), result);
    }

    [Fact]
    public async Task ProbeAsync_UnknownService_CriticalWithGrpcError()
    {
        await using var server = await GrpcHealthServer.StartAsync("=SERVING");
        using var probe = Probe(server.Target + "/nope");

        var result = await probe.ProbeAsync(CancellationToken.None);

        Assert.Equal(new CheckResult(HealthStatus.Critical, "rpc error: code = NotFound desc = unknown service"), result);
    }

    [Fact]
    public async Task Monitor_ServerStopped_TurnsCritical()
    {
        var server = await GrpcHealthServer.StartAsync("=SERVING");
        var sink = new ResultSink();
        var definition = new CheckDefinition { GRPC = server.Target, Interval = CheckKit.Interval, Timeout = TimeSpan.FromSeconds(1) };
        await using var monitor = CheckKit.Monitor(definition, sink);
        Assert.Equal(HealthStatus.Passing, (await sink.NextAsync()).Status);

        await server.DisposeAsync();

        var critical = await sink.NextAsync();
        Assert.Equal(HealthStatus.Critical, critical.Status);
        Assert.StartsWith("rpc error: code = Unavailable desc = ", critical.Output);
    }

    [Fact]
    public void EncodeRequest_Service_LengthPrefixedField1()
    {
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0 }, GrpcCheckProbe.EncodeRequest(string.Empty));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 3, 0x0A, 1, (byte)'a' }, GrpcCheckProbe.EncodeRequest("a"));
    }

    [Fact]
    public void TryDecodeResponse_UnknownFieldsSkipped_ReadsStatus()
    {
        // field 2 (varint 7), field 1 = 2 (NOT_SERVING)
        byte[] body = [0, 0, 0, 0, 4, 0x10, 7, 0x08, 2];

        Assert.True(GrpcCheckProbe.TryDecodeResponse(body, out var status, out _));
        Assert.Equal(2, status);
        Assert.False(GrpcCheckProbe.TryDecodeResponse([0, 0, 0, 0, 9, 0x08], out _, out _));
    }

    private static GrpcCheckProbe Probe(string target) =>
        new(new CheckDefinition { GRPC = target, Interval = CheckKit.Interval, Timeout = TimeSpan.FromSeconds(5) });

    /// <summary>Runs health_server.mjs on port 0 and reads the port it prints.</summary>
    private sealed class GrpcHealthServer : IAsyncDisposable
    {
        private readonly Process _process;

        private GrpcHealthServer(Process process, int port)
        {
            _process = process;
            Target = $"127.0.0.1:{port}";
        }

        public string Target { get; }

        public static async Task<GrpcHealthServer> StartAsync(params string[] statuses)
        {
            var dir = Path.Combine(RepoPaths.Interop, "grpc-health");
            if (!Directory.Exists(Path.Combine(dir, "node_modules", "@grpc", "grpc-js")))
            {
                Assert.Fail($"{dir}/node_modules is missing. Run tests/setup.sh to install the test peers (npm ci in tests/interop/grpc-health).");
            }

            var info = new ProcessStartInfo("node")
            {
                WorkingDirectory = dir,
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            info.ArgumentList.Add("health_server.mjs");
            foreach (var status in statuses)
            {
                info.ArgumentList.Add(status);
            }

            var process = Process.Start(info)!;
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(ResultSink.Wait);
            if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"health server did not start: {line} {await process.StandardError.ReadToEndAsync()}");
            }

            return new GrpcHealthServer(process, int.Parse(line!["listening ".Length..]));
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
