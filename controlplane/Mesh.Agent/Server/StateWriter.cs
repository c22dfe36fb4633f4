using Mesh.Consensus;
using Mesh.State.Commands;

namespace Mesh.Agent.Server;

/// <summary>
/// Proposes commands to the replicated log, stamped with this server's clock, and hands back the FSM's answer. The
/// one way the agent writes to the state store.
/// </summary>
public sealed class StateWriter
{
    private readonly IReplicatedLog _log;
    private readonly TimeProvider _time;

    /// <summary>Writes through <paramref name="log"/>.</summary>
    public StateWriter(IReplicatedLog log, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(time);
        _log = log;
        _time = time;
    }

    /// <summary>The log writes go to.</summary>
    public IReplicatedLog Log => _log;

    /// <summary>Applies <paramref name="command"/> and returns the FSM's result and the index it was applied at.</summary>
    public async Task<(CommandResult Result, ulong Index)> ApplyAsync(Command command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var stamped = command with { Now = _time.GetUtcNow().UtcDateTime };
        var applied = await _log.ApplyAsync(CommandCodec.Encode(stamped), cancellationToken).ConfigureAwait(false);
        return (applied.Response as CommandResult ?? new CommandResult(false, "the log returned no result"), applied.Index);
    }
}
