using System.Globalization;

namespace Mesh.Consensus.Dev;

/// <summary>
/// The single-node log that <c>-dev</c> runs on. It is always the leader, commits an entry the moment it is appended
/// (a quorum of one) and keeps nothing once the entry is applied: with no followers to catch up and no durability
/// promised, the state machine itself is the only copy. Writes still pass through the same encoded-command path as
/// they will under Raft, so there is one code path, not two.
/// </summary>
public sealed class InMemoryLog : IReplicatedLog
{
    private readonly IStateMachine _fsm;
    private readonly object _appendGate = new();
    private readonly LeadershipState _leadership;
    private readonly string[] _peers;
    private ulong _lastIndex;
    private bool _disposed;

    /// <param name="fsm">The state machine to drive.</param>
    /// <param name="selfAddress">This server's RPC address, reported as leader and only peer.</param>
    /// <param name="startIndex">Index already reflected in <paramref name="fsm"/> (after a restore); new entries follow it.</param>
    public InMemoryLog(IStateMachine fsm, string selfAddress, ulong startIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(fsm);
        ArgumentNullException.ThrowIfNull(selfAddress);
        _fsm = fsm;
        _lastIndex = startIndex;
        _leadership = new LeadershipState(true, selfAddress, TimeSpan.Zero);
        _peers = [selfAddress];
    }

    /// <inheritdoc />
    public LeadershipState Leadership => _leadership;

    /// <inheritdoc />
    public IReadOnlyList<string> Peers => _peers;

    /// <inheritdoc />
    public ulong AppliedIndex => Volatile.Read(ref _lastIndex);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Stats => new Dictionary<string, string>
    {
        ["state"] = "Leader",
        ["term"] = "1",
        ["last_log_index"] = AppliedIndex.ToString(CultureInfo.InvariantCulture),
        ["commit_index"] = AppliedIndex.ToString(CultureInfo.InvariantCulture),
        ["applied_index"] = AppliedIndex.ToString(CultureInfo.InvariantCulture),
        ["num_peers"] = "0",
        ["protocol_version"] = "3",
    };

    /// <inheritdoc />
    public Task<ApplyResult> ApplyAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Appending, committing and applying happen under one gate so entries reach the state machine in index order,
        // exactly as the Raft apply loop will deliver them.
        lock (_appendGate)
        {
            if (_disposed) throw new NoLeaderException("the log is shut down");
            var index = _lastIndex + 1;
            var response = _fsm.Apply(new LogEntry(index, 1, command));
            Volatile.Write(ref _lastIndex, index);
            return Task.FromResult(new ApplyResult(index, response));
        }
    }

    /// <inheritdoc />
    public Task VerifyLeaderAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return _disposed ? Task.FromException(new NoLeaderException("the log is shut down")) : Task.CompletedTask;
    }

    /// <summary>Replaces the state machine's state with a snapshot and continues the log after <paramref name="index"/>.</summary>
    public void Restore(Stream snapshot, ulong index)
    {
        lock (_appendGate)
        {
            _fsm.Restore(snapshot);
            Volatile.Write(ref _lastIndex, index);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        lock (_appendGate) _disposed = true;
        return ValueTask.CompletedTask;
    }
}
