namespace Mesh.Consensus;

/// <summary>One committed entry of the replicated log.</summary>
/// <param name="Index">Position in the log; strictly increasing from 1.</param>
/// <param name="Term">Leadership term that appended the entry.</param>
/// <param name="Data">The encoded command. The log never looks inside it.</param>
public readonly record struct LogEntry(ulong Index, ulong Term, ReadOnlyMemory<byte> Data);

/// <summary>The outcome of a command once it is committed and applied.</summary>
/// <param name="Index">The log index the command was applied at.</param>
/// <param name="Response">What the state machine returned for it (see <see cref="IStateMachine.Apply"/>).</param>
public readonly record struct ApplyResult(ulong Index, object? Response);

/// <summary>
/// The seam every write goes through. A caller proposes an encoded command; the log orders it, makes it durable on a
/// quorum and hands it to the <see cref="IStateMachine"/> of every server. On a follower the implementation forwards
/// the command to the leader and returns the leader's result, so callers never care which server they talk to.
/// </summary>
public interface IReplicatedLog : IAsyncDisposable
{
    /// <summary>Appends <paramref name="command"/> and completes once it is committed and applied locally.</summary>
    /// <exception cref="NoLeaderException">No leader is known, or the leader could not be reached.</exception>
    Task<ApplyResult> ApplyAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when this server has confirmed with a quorum that it is still the leader and has applied everything
    /// committed before the call: what a <c>?consistent</c> read waits for.
    /// </summary>
    Task VerifyLeaderAsync(CancellationToken cancellationToken);

    /// <summary>The leadership picture as this server sees it now.</summary>
    LeadershipState Leadership { get; }

    /// <summary>Addresses (<c>host:port</c> of the server RPC port) of the voting servers.</summary>
    IReadOnlyList<string> Peers { get; }

    /// <summary>Index of the last entry the state machine applied on this server.</summary>
    ulong AppliedIndex { get; }

    /// <summary>Counters for <c>/v1/agent/self</c> and metrics (term, indexes, state).</summary>
    IReadOnlyDictionary<string, string> Stats { get; }
}

/// <summary>Leadership as a server sees it.</summary>
/// <param name="IsLeader">This server is the leader.</param>
/// <param name="LeaderAddress">The leader's server RPC address, or <c>null</c> when none is known.</param>
/// <param name="LastContact">Time since the leader was last heard from (zero on the leader itself).</param>
public sealed record LeadershipState(bool IsLeader, string? LeaderAddress, TimeSpan LastContact)
{
    /// <summary>Whether any leader is known: the <c>X-Consul-KnownLeader</c> header.</summary>
    public bool KnownLeader => LeaderAddress is not null;
}

/// <summary>Raised when a write or a consistent read needs a leader and none is available.</summary>
public sealed class NoLeaderException(string message) : Exception(message);
