namespace Mesh.Agent.Events;

/// <summary>A user event (<c>mesh event</c>): an opaque payload with optional node, service and tag filters.</summary>
public sealed record UserEvent
{
    public required string ID { get; init; }
    public required string Name { get; init; }
    public byte[]? Payload { get; init; }
    public string NodeFilter { get; init; } = "";
    public string ServiceFilter { get; init; } = "";
    public string TagFilter { get; init; } = "";
    public int Version { get; init; } = 1;
    /// <summary>Lamport time assigned on delivery; 0 in the answer to a fire.</summary>
    public ulong LTime { get; init; }
}
