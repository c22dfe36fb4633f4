namespace Mesh.State.Filtering;

/// <summary>
/// A <c>?filter=</c> expression that cannot be parsed, exceeds the limits, or cannot be applied to a result item
/// (for example a selector naming a field the item does not have). The HTTP API turns it into a 400 whose body is
/// <see cref="Exception.Message"/>, which is always one line and names the character offset it refers to.
/// </summary>
public sealed class FilterException : Exception
{
    /// <summary>Creates an exception about the expression text at <paramref name="offset"/>.</summary>
    public FilterException(int offset, string message)
        : base($"Invalid filter expression at offset {offset}: {message}")
    {
        Offset = offset;
    }

    /// <summary>Creates an exception wrapping the failure that caused it (a regex the engine rejects).</summary>
    public FilterException(int offset, string message, Exception inner)
        : base($"Invalid filter expression at offset {offset}: {message}", inner)
    {
        Offset = offset;
    }

    /// <summary>Zero-based character offset in the expression text that the error refers to.</summary>
    public int Offset { get; }
}
