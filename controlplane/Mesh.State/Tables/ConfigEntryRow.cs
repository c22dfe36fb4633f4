namespace Mesh.State.Tables;

/// <summary>
/// A configuration entry as the store keeps it: its kind and name, and its body as canonical JSON. The store knows
/// nothing of what a kind means; Mesh.Connect parses and validates bodies before they are written.
/// </summary>
public sealed record ConfigEntryRow
{
    /// <summary>The kind, e.g. <c>service-defaults</c>, <c>service-resolver</c>, <c>service-intentions</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>The name (the service it configures; <c>global</c> for <c>proxy-defaults</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The entry as JSON, in the API's shape, without its indexes.</summary>
    public required string Json { get; init; }

    public ulong CreateIndex { get; init; }
    public ulong ModifyIndex { get; init; }

    /// <summary>The row key: kind and name.</summary>
    public string RowKey => KeyOf(Kind, Name);

    /// <summary>The row key of <paramref name="kind"/>/<paramref name="name"/>.</summary>
    public static string KeyOf(string kind, string name) => kind + "/" + name;
}
