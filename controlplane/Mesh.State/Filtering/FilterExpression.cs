using System.Text.Json;

namespace Mesh.State.Filtering;

/// <summary>
/// A parsed Consul <c>?filter=</c> expression (go-bexpr syntax), e.g.
/// <c>ServiceMeta.version == v1 and "primary" in ServiceTags</c>. Parse once per request, then call
/// <see cref="Matches"/> for each result item. Immutable and safe to share between threads.
/// </summary>
public sealed class FilterExpression
{
    private readonly FilterNode _root;

    private FilterExpression(string text, FilterNode root)
    {
        Text = text;
        _root = root;
    }

    /// <summary>The expression as given.</summary>
    public string Text { get; }

    /// <summary>The syntax tree, for tests and for callers that inspect selectors.</summary>
    internal FilterNode Root => _root;

    /// <summary>
    /// Parses <paramref name="text"/>. Invalid regular expressions in <c>matches</c> are reported here, not at
    /// evaluation. Throws <see cref="FilterException"/> (one line, with the offset) if the text is malformed,
    /// longer than 4096 characters, or nested deeper than 64 levels.
    /// </summary>
    public static FilterExpression Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new FilterExpression(text, FilterParser.Parse(text));
    }

    /// <summary>
    /// Whether <paramref name="item"/>, the Consul JSON form of one result item, satisfies the expression. Throws
    /// <see cref="FilterException"/> where go-bexpr reports an error, for example a selector naming a top-level
    /// field the item does not have, or a literal that cannot be converted to the field's type.
    /// </summary>
    public bool Matches(JsonElement item) => FilterEvaluator.Evaluate(_root, item);

    /// <inheritdoc />
    public override string ToString() => Text;
}
