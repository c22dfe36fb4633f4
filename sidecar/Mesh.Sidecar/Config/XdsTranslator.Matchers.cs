using System.Text.RegularExpressions;
using Envoy.Type.Matcher.V3;
using RouteHeaderMatcher = Envoy.Config.Route.V3.HeaderMatcher;
using RouteQueryParameterMatcher = Envoy.Config.Route.V3.QueryParameterMatcher;

namespace Mesh.Sidecar.Config;

internal sealed partial class XdsTranslator
{
    /// <summary>
    /// A <c>StringMatcher</c>: exact, prefix, suffix, contains or <c>safe_regex</c>, with <c>ignore_case</c>. A regex is
    /// compiled anchored, since Envoy's <c>safe_regex</c> must match the whole value.
    /// </summary>
    private static StringMatch StringMatcher(StringMatcher? matcher, string path)
    {
        if (matcher is null) throw Fail(path, "string matcher is missing");
        return matcher.MatchPatternCase switch
        {
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.Exact => new StringMatch(StringMatchKind.Exact, matcher.Exact, matcher.IgnoreCase),
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.Prefix => NonEmpty(StringMatchKind.Prefix, matcher.Prefix, "prefix"),
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.Suffix => NonEmpty(StringMatchKind.Suffix, matcher.Suffix, "suffix"),
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.Contains => NonEmpty(StringMatchKind.Contains, matcher.Contains, "contains"),
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.SafeRegex => RegexMatch(matcher.SafeRegex, matcher.IgnoreCase, path),
            _ => throw Fail(path, "string matcher has no pattern (exact, prefix, suffix, contains or safe_regex)"),
        };

        // Envoy's validation requires a non-empty prefix, suffix and contains value.
        StringMatch NonEmpty(StringMatchKind kind, string value, string field) =>
            value.Length == 0 ? throw Fail(path, $"string matcher: {field} is empty") : new StringMatch(kind, value, matcher.IgnoreCase);
    }

    private static StringMatch RegexMatch(RegexMatcher? matcher, bool ignoreCase, string path)
    {
        if (matcher is null) throw Fail(path, "safe_regex is missing");
        return new StringMatch(StringMatchKind.Regex, matcher.Regex, ignoreCase, CompileRegex(matcher.Regex, ignoreCase, path));
    }

    /// <summary>Compiles a regex for a full match, with a match timeout; an invalid pattern is an error naming it.</summary>
    private static Regex CompileRegex(string pattern, bool ignoreCase, string path)
    {
        if (pattern.Length == 0) throw Fail(path, "safe_regex: the regex is empty");
        var options = RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        try
        {
            return new Regex($"^(?:{pattern})$", options, RegexTimeout);
        }
        catch (ArgumentException e)
        {
            throw Fail(path, $"safe_regex \"{pattern}\" is not a valid regex: {e.Message}");
        }
    }

    /// <summary>
    /// A route or RBAC <c>HeaderMatcher</c>: <c>string_match</c>, <c>present_match</c> or the legacy
    /// <c>exact_match</c>/<c>prefix_match</c>/<c>suffix_match</c>/<c>contains_match</c>/<c>safe_regex_match</c>, with
    /// <c>invert_match</c>. A matcher with none of them matches a present header, as in Envoy.
    /// </summary>
    private static HeaderMatch HeaderMatcher(RouteHeaderMatcher matcher, string path)
    {
        if (matcher.Name.Length == 0) throw Fail(path, "header matcher: the name is empty");
        path = At(path, $"header \"{matcher.Name}\"");
        if (matcher.TreatMissingHeaderAsEmpty) throw Fail(path, "treat_missing_header_as_empty is not supported");
        var name = matcher.Name.ToLowerInvariant();
        var invert = matcher.InvertMatch;
#pragma warning disable CS0612 // The legacy *_match fields are read on purpose: older control planes still write them.
        return matcher.HeaderMatchSpecifierCase switch
        {
            RouteHeaderMatcher.HeaderMatchSpecifierOneofCase.StringMatch => new HeaderMatch(name, StringMatcher(matcher.StringMatch, path), Invert: invert),
            RouteHeaderMatcher.HeaderMatchSpecifierOneofCase.PresentMatch => new HeaderMatch(name, null, matcher.PresentMatch, invert),
            RouteHeaderMatcher.HeaderMatchSpecifierOneofCase.None => new HeaderMatch(name, null, true, invert),
            RouteHeaderMatcher.HeaderMatchSpecifierOneofCase.ExactMatch => new HeaderMatch(name, new StringMatch(StringMatchKind.Exact, matcher.ExactMatch), Invert: invert),
            RouteHeaderMatcher.HeaderMatchSpecifierOneofCase.PrefixMatch => new HeaderMatch(name, new StringMatch(StringMatchKind.Prefix, matcher.PrefixMatch), Invert: invert),
            RouteHeaderMatcher.HeaderMatchSpecifierOneofCase.SuffixMatch => new HeaderMatch(name, new StringMatch(StringMatchKind.Suffix, matcher.SuffixMatch), Invert: invert),
            RouteHeaderMatcher.HeaderMatchSpecifierOneofCase.ContainsMatch => new HeaderMatch(name, new StringMatch(StringMatchKind.Contains, matcher.ContainsMatch), Invert: invert),
            RouteHeaderMatcher.HeaderMatchSpecifierOneofCase.SafeRegexMatch => new HeaderMatch(name, RegexMatch(matcher.SafeRegexMatch, false, path), Invert: invert),
            _ => throw Fail(path, $"{Snake(matcher.HeaderMatchSpecifierCase.ToString())} is not supported"),
        };
#pragma warning restore CS0612
    }

    /// <summary>A route's <c>QueryParameterMatcher</c>: <c>string_match</c> or presence (also when neither is set).</summary>
    private static QueryParameterMatch QueryParameterMatcher(RouteQueryParameterMatcher matcher, string path)
    {
        if (matcher.Name.Length == 0) throw Fail(path, "query parameter matcher: the name is empty");
        path = At(path, $"query parameter \"{matcher.Name}\"");
        return matcher.QueryParameterMatchSpecifierCase switch
        {
            RouteQueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.StringMatch => new QueryParameterMatch(matcher.Name, StringMatcher(matcher.StringMatch, path)),
            RouteQueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.PresentMatch when matcher.PresentMatch => new QueryParameterMatch(matcher.Name, null),
            RouteQueryParameterMatcher.QueryParameterMatchSpecifierOneofCase.PresentMatch => throw Fail(path, "present_match false is not supported"),
            _ => new QueryParameterMatch(matcher.Name, null),
        };
    }
}
