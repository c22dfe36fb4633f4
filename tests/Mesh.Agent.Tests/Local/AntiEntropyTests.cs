using Mesh.Agent.Checks;
using Mesh.Agent.Local;
using Mesh.Agent.Server;
using Mesh.Consensus;
using Mesh.State;
using Mesh.State.Tables;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Agent.Tests.Local;

public class AntiEntropyTests
{
    /// <summary>A log whose every write finds the agent shutting down: it cancels the shutdown token and throws.</summary>
    private sealed class ShuttingDownLog(CancellationTokenSource shutdown) : IReplicatedLog
    {
        public int Writes;

        public Task<ApplyResult> ApplyAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Writes);
            shutdown.Cancel();
            throw new OperationCanceledException(cancellationToken);
        }

        public Task VerifyLeaderAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public LeadershipState Leadership { get; } = new(true, "127.0.0.1:8300", TimeSpan.Zero);
        public IReadOnlyList<string> Peers { get; } = ["127.0.0.1:8300"];
        public ulong AppliedIndex => 0;
        public IReadOnlyDictionary<string, string> Stats { get; } = new Dictionary<string, string>();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task ShutdownDuringAWrite_EndsTheLoopQuietly()
    {
        using var shutdown = new CancellationTokenSource();
        var log = new ShuttingDownLog(shutdown);
        var store = new StateStore();
        await using var local = new LocalState("n1", new CheckProbeFactory(false), TimeProvider.System, NullLogger<LocalState>.Instance);
        local.AddService(new ServiceInstance { Node = "n1", ID = "web", Service = "web" }, [], replaceExistingChecks: false);
        var antiEntropy = new AntiEntropy(local, store, new StateWriter(log, TimeProvider.System), new Node { Name = "n1", Address = "127.0.0.1" },
            TimeProvider.System, NullLogger<AntiEntropy>.Instance);

        await antiEntropy.RunAsync(shutdown.Token).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, log.Writes);
    }
}
