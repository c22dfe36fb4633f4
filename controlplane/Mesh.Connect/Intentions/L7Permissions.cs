using System.Text.RegularExpressions;
using Mesh.Connect.Entries;

namespace Mesh.Connect.Intentions;

/// <summary>The parts of an HTTP request L7 permissions look at.</summary>
/// <param name="Path">The path (without the query).</param>
/// <param name="Method">The method, upper case.</param>
/// <param name="Headers">Header values by name, names compared regardless of case.</param>
public sealed record HttpRequestInfo(string Path, string Method, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// Evaluates an L7 intention's permissions against a request: in order, the first permission whose HTTP match holds
/// decides; when none does, the caller falls back to the default policy.
/// </summary>
public static class L7Permissions
{
    /// <summary>The action (<c>allow</c> or <c>deny</c>) of the first matching permission, or null when none matches.</summary>
    public static string? Evaluate(IReadOnlyList<IntentionPermission> permissions, HttpRequestInfo request)
    {
        foreach (var p in permissions)
            if (p.HTTP is null || Matches(p.HTTP, request)) return p.Action.ToLowerInvariant();
        return null;
    }

    /// <summary>Whether every part of <paramref name="match"/> holds for <paramref name="request"/>.</summary>
    public static bool Matches(IntentionHttpMatch match, HttpRequestInfo request)
    {
        if (match.PathExact.Length > 0 && request.Path != match.PathExact) return false;
        if (match.PathPrefix.Length > 0 && !request.Path.StartsWith(match.PathPrefix, StringComparison.Ordinal)) return false;
        if (match.PathRegex.Length > 0 && !FullMatch(match.PathRegex, request.Path)) return false;
        if (match.Methods is { Count: > 0 } methods && !methods.Contains(request.Method, StringComparer.OrdinalIgnoreCase)) return false;
        foreach (var h in match.Header ?? [])
            if (!HeaderMatches(h, request.Headers)) return false;
        return true;
    }

    /// <summary>One header match: present, exact, prefix, suffix or regex, inverted when asked.</summary>
    public static bool HeaderMatches(HeaderMatch h, IReadOnlyDictionary<string, string> headers)
    {
        var found = headers.TryGetValue(h.Name, out var value) || TryGetIgnoringCase(headers, h.Name, out value);
        bool result;
        if (h.Present) result = found;
        else if (!found) result = false;
        else if (h.Exact.Length > 0) result = value == h.Exact;
        else if (h.Prefix.Length > 0) result = value!.StartsWith(h.Prefix, StringComparison.Ordinal);
        else if (h.Suffix.Length > 0) result = value!.EndsWith(h.Suffix, StringComparison.Ordinal);
        else if (h.Regex.Length > 0) result = FullMatch(h.Regex, value!);
        else result = found;
        return h.Invert ? !result : result;
    }

    private static bool TryGetIgnoringCase(IReadOnlyDictionary<string, string> headers, string name, out string? value)
    {
        foreach (var (k, v) in headers)
            if (string.Equals(k, name, StringComparison.OrdinalIgnoreCase))
            {
                value = v;
                return true;
            }
        value = null;
        return false;
    }

    /// <summary>Envoy matches regexes (RE2) against the whole value; the non-backtracking engine keeps time linear.</summary>
    private static bool FullMatch(string pattern, string value) =>
        Regex.IsMatch(value, $"^(?:{pattern})$", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
}
