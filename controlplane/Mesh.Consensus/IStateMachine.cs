namespace Mesh.Consensus;

/// <summary>
/// What the replicated log drives: a deterministic state machine. Every server applies the same entries in the same
/// order and so reaches the same state. Defined here, by its consumer, and implemented by the state store.
/// </summary>
public interface IStateMachine
{
    /// <summary>
    /// Applies one committed entry. Must be deterministic: everything it depends on (timestamps included) travels in
    /// the entry. The return value goes back to the proposer; it must be a small value the log can carry across the
    /// network when a follower forwarded the write.
    /// </summary>
    object? Apply(LogEntry entry);

    /// <summary>Writes a point-in-time image of the whole state, used to compact the log and to seed new servers.</summary>
    void WriteSnapshot(Stream destination);

    /// <summary>Replaces the whole state with an image written by <see cref="WriteSnapshot"/>.</summary>
    void Restore(Stream source);
}
