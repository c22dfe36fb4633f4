namespace Mesh.Agent.Dns.Wire;

/// <summary>
/// A direct-mapped intern table for question names: a busy server sees the same few names over and over, and handing back
/// the string made last time keeps the hot path free of allocation. A collision just replaces the slot; racing writers
/// store whole references, so a reader sees either string, both correct for their own content check.
/// </summary>
internal static class NameCache
{
    private const int Slots = 4096;
    private static readonly string?[] Table = new string?[Slots];

    /// <summary>The string equal to <paramref name="name"/>, reused when it was seen recently.</summary>
    public static string Get(ReadOnlySpan<char> name)
    {
        var slot = (int)((uint)string.GetHashCode(name) % Slots);
        var hit = Volatile.Read(ref Table[slot]);
        if (hit is not null && name.SequenceEqual(hit)) return hit;
        var made = new string(name);
        Volatile.Write(ref Table[slot], made);
        return made;
    }
}
