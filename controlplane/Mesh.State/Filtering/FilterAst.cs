using System.Text.RegularExpressions;

namespace Mesh.State.Filtering;

/// <summary>A node of a parsed filter; evaluation lives in <see cref="FilterEvaluator"/>.</summary>
internal abstract record FilterNode
{
    /// <summary>A canonical prefix rendering, so tests can assert precedence without building trees by hand.</summary>
    public abstract string Describe();
}

internal sealed record AndNode(FilterNode Left, FilterNode Right) : FilterNode
{
    public override string Describe() => $"(and {Left.Describe()} {Right.Describe()})";
}

internal sealed record OrNode(FilterNode Left, FilterNode Right) : FilterNode
{
    public override string Describe() => $"(or {Left.Describe()} {Right.Describe()})";
}

internal sealed record NotNode(FilterNode Operand) : FilterNode
{
    public override string Describe() => $"(not {Operand.Describe()})";
}

/// <summary>
/// One comparison. <paramref name="Value"/> is the raw literal text (after unquoting) and is converted to the type
/// of the field it meets at evaluation time, as go-bexpr does, so <c>ServicePort == "8080"</c> and
/// <c>ServicePort == 8080</c> mean the same. <paramref name="Pattern"/> is compiled once at parse time for
/// <c>matches</c>. <paramref name="Offset"/> is where the expression starts, for evaluation errors.
/// </summary>
internal sealed record MatchNode(FilterSelector Selector, MatchOperator Operator, string? Value, Regex? Pattern, int Offset)
    : FilterNode
{
    public override string Describe() => Value is null
        ? $"({Operator} {Selector})"
        : $"({Operator} {Selector} \"{Value}\")";
}

internal enum MatchOperator
{
    Equal,
    NotEqual,
    /// <summary>Both <c>value in Selector</c> and <c>Selector contains value</c>.</summary>
    In,
    NotIn,
    IsEmpty,
    IsNotEmpty,
    Matches,
    NotMatches,
}

/// <summary>A path of field names, map keys or array indexes (as strings, like go-bexpr's pointer parts).</summary>
internal sealed record FilterSelector(IReadOnlyList<string> Path)
{
    public bool Equals(FilterSelector? other) => other is not null && Path.SequenceEqual(other.Path);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var part in Path)
        {
            hash.Add(part);
        }
        return hash.ToHashCode();
    }

    /// <summary>Dotted form; also the raw value when a bare word stands where a value is expected.</summary>
    public override string ToString() => string.Join('.', Path);
}
