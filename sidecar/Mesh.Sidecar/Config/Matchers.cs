using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace Mesh.Sidecar.Config;

/// <summary>How a <see cref="StringMatch"/> compares.</summary>
internal enum StringMatchKind { Exact, Prefix, Suffix, Contains, Regex }

/// <summary>
/// Envoy's <c>type.matcher.v3.StringMatcher</c>, compiled. A regex match is a full match (Envoy's <c>safe_regex</c>
/// matches the whole value), so <see cref="Regex"/> is built anchored.
/// </summary>
internal sealed record StringMatch(StringMatchKind Kind, string Value, bool IgnoreCase = false, Regex? Regex = null)
{
    /// <summary>True when <paramref name="value"/> satisfies the matcher.</summary>
    public bool Matches(ReadOnlySpan<char> value)
    {
        var comparison = IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return Kind switch
        {
            StringMatchKind.Exact => value.Equals(Value, comparison),
            StringMatchKind.Prefix => value.StartsWith(Value, comparison),
            StringMatchKind.Suffix => value.EndsWith(Value, comparison),
            StringMatchKind.Contains => value.Contains(Value, comparison),
            StringMatchKind.Regex => Regex!.IsMatch(value),
            _ => false,
        };
    }
}

/// <summary>
/// Envoy's <c>config.route.v3.HeaderMatcher</c>: a value matcher, or presence, optionally inverted. Pseudo-headers
/// (<c>:method</c>, <c>:path</c>, <c>:authority</c>, <c>:scheme</c>) are matched against the request line.
/// </summary>
/// <param name="Name">Lower-case header name.</param>
/// <param name="Match">The value matcher; null for a presence match.</param>
/// <param name="Present">For a presence match: whether the header must be present.</param>
/// <param name="Invert">Invert the result (<c>invert_match</c>).</param>
internal sealed record HeaderMatch(string Name, StringMatch? Match, bool Present = true, bool Invert = false);

/// <summary>Envoy's <c>QueryParameterMatcher</c>: a value matcher, or presence.</summary>
internal sealed record QueryParameterMatch(string Name, StringMatch? Match);
