using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Mesh.State.Tables;

namespace Mesh.State.Queries;

/// <summary>Why a prepared query template does not compile. The message is Consul's and is shown to the client.</summary>
internal sealed class QueryTemplateException(string message) : Exception(message);

/// <summary>
/// A compiled prepared-query template (Consul's <c>prepared_query.CompiledTemplate</c>). Every string of the
/// <c>Service</c> block is parsed once for interpolations: <c>${name.full}</c> (the name looked up),
/// <c>${name.prefix}</c> (the template's name), <c>${name.suffix}</c> (what follows it), <c>${agent.segment}</c>
/// (always empty: there are no network segments) and <c>${match(N)}</c> (group N of <c>Template.Regexp</c> run against
/// the full name; empty when it does not match or has no such group). <c>$${</c> is a literal <c>${</c>. This is the
/// subset of HashiCorp's HIL that Consul documents for templates; any other expression is refused when the query is
/// written, so rendering cannot fail.
/// </summary>
internal sealed class QueryTemplate
{
    private static readonly HashSet<string> Variables = new(StringComparer.Ordinal) { "name.full", "name.prefix", "name.suffix", "agent.segment" };

    private readonly Dictionary<string, Part[]> _fields;
    private readonly Regex? _regex;

    private QueryTemplate(PreparedQuery query, Dictionary<string, Part[]> fields, Regex? regex)
    {
        Query = query;
        LowerName = query.Name.ToLowerInvariant();
        _fields = fields;
        _regex = regex;
    }

    /// <summary>The query as stored (not rendered).</summary>
    public PreparedQuery Query { get; }

    /// <summary>The prefix this template answers, lower-cased: lookups by name ignore case, as Consul's do.</summary>
    public string LowerName { get; }

    /// <summary>Validates and compiles <paramref name="query"/>'s template.</summary>
    /// <exception cref="QueryTemplateException">The type is unknown, an interpolation is malformed or the regexp does not compile.</exception>
    public static QueryTemplate Compile(PreparedQuery query)
    {
        if (query.Template.Type != QueryTemplateOptions.NamePrefixMatch)
            throw new QueryTemplateException($"Bad Template.Type '{query.Template.Type}'");
        var fields = new Dictionary<string, Part[]>(StringComparer.Ordinal);
        Walk(query.Service, (path, value) =>
        {
            var parts = Parse(value, path);
            // Only fields with something to evaluate (or a "$${" to unescape) are kept: the rest render as they are.
            if (value.Contains("${", StringComparison.Ordinal)) fields[path] = parts;
            return value;
        });
        Regex? regex = null;
        if (query.Template.Regexp.Length > 0)
        {
            try
            {
                // NonBacktracking keeps matching linear in the name, as Go's RE2 does, whatever the pattern.
                regex = new Regex(FromRe2(query.Template.Regexp), RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                throw new QueryTemplateException($"Bad Regexp: {ex.Message}");
            }
        }
        return new QueryTemplate(query, fields, regex);
    }

    /// <summary>The query with every interpolation in its <c>Service</c> block evaluated for <paramref name="name"/>.</summary>
    public PreparedQuery Render(string name)
    {
        string[] matches = [];
        if (_regex?.Match(name) is { Success: true } m)
            matches = m.Groups.Cast<Group>().Select(g => g.Success ? g.Value : "").ToArray();
        // Consul trims the prefix as written in the template, case and all.
        var suffix = name.StartsWith(Query.Name, StringComparison.Ordinal) ? name[Query.Name.Length..] : name;
        var service = _fields.Count == 0 ? Query.Service : Walk(Query.Service, (path, value) =>
        {
            if (!_fields.TryGetValue(path, out var parts)) return value;
            var sb = new StringBuilder();
            foreach (var part in parts)
            {
                sb.Append(part switch
                {
                    Literal l => l.Text,
                    MatchGroup g => g.Index >= 0 && g.Index < matches.Length ? matches[g.Index] : "",
                    Variable { Name: "name.full" } => name,
                    Variable { Name: "name.prefix" } => Query.Name,
                    Variable { Name: "name.suffix" } => suffix,
                    _ => "",
                });
            }
            return sb.ToString();
        });
        if (Query.Template.RemoveEmptyTags) service = service with { Tags = [.. service.Tags.Where(t => t.Length > 0)] };
        return Query with { Service = service };
    }

    /// <summary>
    /// Applies <paramref name="map"/> to every string of the <c>Service</c> block (map values, not keys), each named by
    /// its path as Consul names it in errors (<c>.Tags[1]</c>, <c>.NodeMeta[zone]</c>), and returns the result.
    /// </summary>
    private static ServiceQuery Walk(ServiceQuery s, Func<string, string, string> map)
    {
        ImmutableArray<string> Strings(string path, ImmutableArray<string> values) =>
            [.. values.Select((v, i) => map($"{path}[{i}]", v))];

        ImmutableDictionary<string, string> Map(string path, ImmutableDictionary<string, string> values) =>
            values.Count == 0 ? values : values.ToImmutableDictionary(p => p.Key, p => map($"{path}[{p.Key}]", p.Value), StringComparer.Ordinal);

        return s with
        {
            Service = map(".Service", s.Service),
            Failover = s.Failover with
            {
                Datacenters = Strings(".Failover.Datacenters", s.Failover.Datacenters),
                Targets = [.. s.Failover.Targets.Select((t, i) => t with
                {
                    Peer = map($".Failover.Targets[{i}].Peer", t.Peer),
                    Datacenter = map($".Failover.Targets[{i}].Datacenter", t.Datacenter),
                })],
            },
            IgnoreCheckIDs = Strings(".IgnoreCheckIDs", s.IgnoreCheckIDs),
            Near = map(".Near", s.Near),
            Tags = Strings(".Tags", s.Tags),
            NodeMeta = Map(".NodeMeta", s.NodeMeta),
            ServiceMeta = Map(".ServiceMeta", s.ServiceMeta),
        };
    }

    private abstract record Part;

    private sealed record Literal(string Text) : Part;

    private sealed record Variable(string Name) : Part;

    private sealed record MatchGroup(int Index) : Part;

    private static Part[] Parse(string text, string path)
    {
        var parts = new List<Part>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (string.CompareOrdinal(text, i, "$${", 0, 3) == 0)
            {
                literal.Append("${");
                i += 3;
                continue;
            }
            if (string.CompareOrdinal(text, i, "${", 0, 2) != 0)
            {
                literal.Append(text[i++]);
                continue;
            }
            var end = text.IndexOf('}', i + 2);
            if (end < 0) throw new QueryTemplateException($"Bad format '{text}' in Service{path}: unterminated interpolation \"${{\"");
            if (literal.Length > 0)
            {
                parts.Add(new Literal(literal.ToString()));
                literal.Clear();
            }
            parts.Add(Expression(text[(i + 2)..end].Trim(), text, path));
            i = end + 1;
        }
        if (literal.Length > 0 || parts.Count == 0) parts.Add(new Literal(literal.ToString()));
        return [.. parts];
    }

    private static Part Expression(string expr, string text, string path)
    {
        if (IsIdentifier(expr))
        {
            return Variables.Contains(expr) ? new Variable(expr)
                : throw new QueryTemplateException($"Bad evaluation for '{text}' in Service{path}: unknown variable accessed: {expr}");
        }
        if (expr.StartsWith("match", StringComparison.Ordinal))
        {
            var call = expr[5..].Trim();
            if (call.Length >= 2 && call[0] == '(' && call[^1] == ')')
            {
                var argument = call[1..^1].Trim();
                if (argument.Length > 0 && (char.IsAsciiDigit(argument[0]) || (argument[0] == '-' && argument.Length > 1)) &&
                    argument.Skip(1).All(char.IsAsciiDigit))
                {
                    // An index too large for an int is simply out of range: match() is empty for it, as in Consul.
                    return new MatchGroup(int.TryParse(argument, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : -1);
                }
            }
        }
        throw new QueryTemplateException(
            $"Bad format '{text}' in Service{path}: unsupported expression \"{expr}\" (use name.full, name.prefix, name.suffix, agent.segment or match(N))");
    }

    private static bool IsIdentifier(string s) =>
        s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary>RE2's ASCII classes (<c>[[:alpha:]]</c>), as .NET class contents; .NET would read them as plain characters.</summary>
    private static readonly Dictionary<string, string> PosixClasses = new(StringComparer.Ordinal)
    {
        ["alnum"] = "0-9A-Za-z", ["alpha"] = "A-Za-z", ["ascii"] = @"\x00-\x7F", ["blank"] = @"\t ", ["cntrl"] = @"\x00-\x1F\x7F",
        ["digit"] = "0-9", ["graph"] = "!-~", ["lower"] = "a-z", ["print"] = " -~", ["punct"] = @"!-/:-@\[-\x60{-~",
        ["space"] = @"\t\n\v\f\r ", ["upper"] = "A-Z", ["word"] = "0-9A-Za-z_", ["xdigit"] = "0-9A-Fa-f",
    };

    /// <summary>
    /// RE2 pattern to .NET. Named groups (<c>(?P&lt;n&gt;</c>, <c>(?&lt;n&gt;</c>) become plain groups, so groups are
    /// numbered left to right as RE2 numbers them (.NET numbers named groups after the unnamed ones) and
    /// <c>${match(N)}</c> picks the group Consul would. RE2 spellings .NET lacks are rewritten: <c>[[:alpha:]]</c>-style
    /// classes, one-letter Unicode classes (<c>\pL</c>) and quoted literals (<c>\Q...\E</c>). Everything else is copied;
    /// what is not RE2 (backreferences, lookarounds) the non-backtracking engine then refuses.
    /// </summary>
    internal static string FromRe2(string pattern)
    {
        var sb = new StringBuilder(pattern.Length);
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var next = pattern[i + 1];
                if (next is 'p' or 'P' && i + 2 < pattern.Length && pattern[i + 2] != '{')
                {
                    sb.Append('\\').Append(next).Append('{').Append(pattern[i + 2]).Append('}');
                    i += 2;
                }
                else if (next == 'Q' && !inClass)
                {
                    var end = pattern.IndexOf(@"\E", i + 2, StringComparison.Ordinal);
                    var literal = end < 0 ? pattern[(i + 2)..] : pattern[(i + 2)..end];
                    sb.Append(Regex.Escape(literal));
                    i = end < 0 ? pattern.Length : end + 1;
                }
                else
                {
                    sb.Append(c).Append(next);
                    i++;
                }
                continue;
            }
            if (inClass)
            {
                if (c == ']') inClass = false;
                else if (c == '[' && PosixClassEnd(pattern, i) is var (end, name) and (> 0, _))
                {
                    sb.Append(PosixClasses[name]);
                    i = end;
                    continue;
                }
                sb.Append(c);
                continue;
            }
            if (c == '[')
            {
                inClass = true;
                sb.Append(c);
                // A ']' right after '[' or '[^' is a literal, not the end of the class.
                if (i + 1 < pattern.Length && pattern[i + 1] == '^') sb.Append(pattern[++i]);
                if (i + 1 < pattern.Length && pattern[i + 1] == ']') sb.Append(pattern[++i]);
                continue;
            }
            if (c == '(' && NamedGroupEnd(pattern, i) is var groupEnd and > 0)
            {
                sb.Append('(');
                i = groupEnd;
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>For a known <c>[:name:]</c> at <paramref name="at"/> inside a class: the index of its last ']' and the name.</summary>
    private static (int End, string Name) PosixClassEnd(string p, int at)
    {
        if (at + 1 >= p.Length || p[at + 1] != ':') return (-1, "");
        var close = p.IndexOf(":]", at + 2, StringComparison.Ordinal);
        if (close < 0) return (-1, "");
        var name = p[(at + 2)..close];
        return PosixClasses.ContainsKey(name) ? (close + 1, name) : (-1, "");
    }

    /// <summary>The index of the '&gt;' closing a named-group opener at <paramref name="at"/>, or -1.</summary>
    private static int NamedGroupEnd(string p, int at)
    {
        var i = at + 1;
        if (i >= p.Length || p[i] != '?') return -1;
        i++;
        if (i < p.Length && p[i] == 'P') i++;
        if (i >= p.Length || p[i] != '<') return -1;
        i++;
        // "(?<=" and "(?<!" are lookbehinds, not names.
        if (i >= p.Length || !(char.IsAsciiLetter(p[i]) || p[i] == '_')) return -1;
        while (i < p.Length && (char.IsAsciiLetterOrDigit(p[i]) || p[i] == '_')) i++;
        return i < p.Length && p[i] == '>' ? i : -1;
    }
}
