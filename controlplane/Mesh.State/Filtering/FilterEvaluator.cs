using System.Globalization;
using System.Text.Json;

namespace Mesh.State.Filtering;

/// <summary>
/// Evaluates a parsed filter against the JSON form of one result item, following go-bexpr's evaluate.go.
/// <para>
/// Field names match exactly (ordinal, case-sensitive): go-bexpr looks struct fields up by their Go name with
/// <c>==</c>, and Consul's JSON names are those Go names, so <c>ServiceName</c> matches and <c>servicename</c> does not.
/// </para>
/// <para>
/// A missing key: go-bexpr returns the operator's "not present" answer only when the last part of the selector is
/// missing from a map (<c>ServiceMeta.nope == x</c> is false, <c>!=</c> true, <c>is empty</c> true); a missing
/// top-level field or a missing intermediate part is an error (400). JSON cannot tell a Go struct from a map, so any
/// object (or null) that lacks the last part of a selector of two or more parts is treated as a map.
/// </para>
/// </summary>
internal static class FilterEvaluator
{
    public static bool Evaluate(FilterNode node, JsonElement item)
    {
        // Loop down the right spine of and/or chains (the parser builds them right-leaning) so evaluation depth
        // is bounded by the parser's nesting limit, not by the number of operands.
        while (true)
        {
            switch (node)
            {
                case AndNode and:
                    if (!Evaluate(and.Left, item))
                    {
                        return false;
                    }
                    node = and.Right;
                    continue;
                case OrNode or:
                    if (Evaluate(or.Left, item))
                    {
                        return true;
                    }
                    node = or.Right;
                    continue;
                case NotNode not:
                    return !Evaluate(not.Operand, item);
                case MatchNode match:
                    return EvaluateMatch(match, item);
                default:
                    throw new InvalidOperationException($"Unknown filter node {node.GetType().Name}.");
            }
        }
    }

    private static bool EvaluateMatch(MatchNode match, JsonElement item)
    {
        if (!TryResolve(match, item, out var value))
        {
            return NotPresentDisposition(match.Operator);
        }
        return match.Operator switch
        {
            MatchOperator.Equal => IsEqual(match, value),
            MatchOperator.NotEqual => !IsEqual(match, value),
            MatchOperator.In => Contains(match, value),
            MatchOperator.NotIn => !Contains(match, value),
            MatchOperator.IsEmpty => IsEmpty(match, value),
            MatchOperator.IsNotEmpty => !IsEmpty(match, value),
            MatchOperator.Matches => IsMatch(match, value),
            MatchOperator.NotMatches => !IsMatch(match, value),
            _ => throw new InvalidOperationException($"Unknown match operator {match.Operator}."),
        };
    }

    // go-bexpr's NotPresentDisposition: nothing equals, contains or matches a missing key, and it is empty.
    private static bool NotPresentDisposition(MatchOperator op) => op switch
    {
        MatchOperator.Equal or MatchOperator.In or MatchOperator.IsNotEmpty or MatchOperator.Matches => false,
        _ => true,
    };

    /// <summary>Walks the selector; false means "missing map key" (the disposition applies), errors throw.</summary>
    private static bool TryResolve(MatchNode match, JsonElement item, out JsonElement value)
    {
        var path = match.Selector.Path;
        var current = item;
        for (var i = 0; i < path.Count; i++)
        {
            var part = path[i];
            var last = i == path.Count - 1;
            switch (current.ValueKind)
            {
                case JsonValueKind.Object:
                    if (current.TryGetProperty(part, out var child))
                    {
                        current = child;
                        continue;
                    }
                    if (last && i > 0)
                    {
                        value = default;
                        return false;
                    }
                    throw Error(match, $"no field or key named \"{part}\"");
                case JsonValueKind.Null when last && i > 0:
                    // A nil map in Go: the key is simply not present.
                    value = default;
                    return false;
                case JsonValueKind.Array:
                    if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                    {
                        throw Error(match, $"\"{part}\" is not an index into a list");
                    }
                    if (index >= current.GetArrayLength())
                    {
                        throw Error(match, $"index {index} is out of range (length {current.GetArrayLength()})");
                    }
                    current = current[index];
                    continue;
                default:
                    throw Error(match, $"cannot select \"{part}\" from a {Describe(current.ValueKind)}");
            }
        }
        value = current;
        return true;
    }

    private static bool IsEqual(MatchNode match, JsonElement value)
    {
        var raw = match.Value!;
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return string.Equals(value.GetString(), raw, StringComparison.Ordinal);
            case JsonValueKind.True:
            case JsonValueKind.False:
                return GoLiterals.TryParseBool(raw, out var b)
                    ? b == (value.ValueKind == JsonValueKind.True)
                    : throw Error(match, $"cannot compare a boolean with \"{raw}\"");
            case JsonValueKind.Number:
                return CompareNumber(value, raw) ?? throw Error(match, $"cannot compare a number with \"{raw}\"");
            default:
                throw Error(match, $"cannot compare a {Describe(value.ValueKind)} with == or !=");
        }
    }

    /// <summary>
    /// Converts the literal to the field's type first, as go-bexpr does with json.Number: an integral field compares
    /// as int64 (Go's ParseInt with base prefixes), anything else as float64. Null means the literal does not convert.
    /// </summary>
    private static bool? CompareNumber(JsonElement value, string raw)
    {
        if (value.TryGetInt64(out var integer))
        {
            return GoLiterals.TryParseInt64(raw, out var literal) ? integer == literal : null;
        }
        var number = value.GetDouble();
        return GoLiterals.TryParseFloat(raw, out var f) ? number == f : null;
    }

    private static bool Contains(MatchNode match, JsonElement value)
    {
        var raw = match.Value!;
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return value.GetString()!.Contains(raw, StringComparison.Ordinal);
            case JsonValueKind.Object:
                return value.TryGetProperty(raw, out _);
            case JsonValueKind.Null:
                // A nil slice or map contains nothing.
                return false;
            case JsonValueKind.Array:
                foreach (var element in value.EnumerateArray())
                {
                    // Like go-bexpr over []interface{}: the literal is converted per element, and an element it
                    // cannot convert to is skipped rather than an error.
                    switch (element.ValueKind)
                    {
                        case JsonValueKind.String when string.Equals(element.GetString(), raw, StringComparison.Ordinal):
                            return true;
                        case JsonValueKind.Number when CompareNumber(element, raw) == true:
                            return true;
                        case JsonValueKind.True or JsonValueKind.False
                            when GoLiterals.TryParseBool(raw, out var b) && b == (element.ValueKind == JsonValueKind.True):
                            return true;
                        case JsonValueKind.Object or JsonValueKind.Array:
                            throw Error(match, $"cannot look for a value in a list of {Describe(element.ValueKind)}s");
                    }
                }
                return false;
            default:
                throw Error(match, $"cannot use in or contains on a {Describe(value.ValueKind)}");
        }
    }

    private static bool IsEmpty(MatchNode match, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => true,
        JsonValueKind.String => value.GetString()!.Length == 0,
        JsonValueKind.Array => value.GetArrayLength() == 0,
        JsonValueKind.Object => !value.EnumerateObject().Any(),
        _ => throw Error(match, $"a {Describe(value.ValueKind)} cannot be empty or not empty"),
    };

    private static bool IsMatch(MatchNode match, JsonElement value) => value.ValueKind == JsonValueKind.String
        ? match.Pattern!.IsMatch(value.GetString()!)
        : throw Error(match, $"cannot match a regular expression against a {Describe(value.ValueKind)}");

    private static FilterException Error(MatchNode match, string reason) =>
        new(match.Offset, $"selector \"{match.Selector}\": {reason}");

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "map",
        JsonValueKind.Array => "list",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "value",
    };
}
