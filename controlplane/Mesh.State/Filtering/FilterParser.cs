using System.Text;
using System.Text.RegularExpressions;

namespace Mesh.State.Filtering;

/// <summary>
/// Recursive-descent parser for go-bexpr's grammar (hashicorp/go-bexpr grammar/grammar.peg):
/// <code>
/// input      = ws? or ws? EOF
/// or         = and ("or" and)*                      right-associative, as go-bexpr builds it
/// and        = not ("and" not)*
/// not        = "not" not / "(" or ")" / match
/// match      = selector ("==" / "!=") value
///            / selector ("contains" / "not contains" / "matches" / "not matches") value
///            / selector "is" ["not"] "empty"
///            / value ("in" / "not in") selector
/// selector   = ident ("." ident / "." digits / "[" string "]")*  /  '"' ("/" segment)+ '"'   (JSON pointer)
/// value      = selector (its dotted text) / number / string
/// number     = "-"? ("0" / [1-9][0-9]*) ("." [0-9]+)?  followed by whitespace, ")" or the end
/// string     = '"' Go escapes '"' / '`' raw '`'
/// </code>
/// Keywords are whole words, so whitespace is needed only where two words would otherwise run together.
/// </summary>
internal sealed class FilterParser
{
    /// <summary>Longer filters are refused before parsing; a URL-borne filter has no business being larger.</summary>
    internal const int MaxLength = 4096;

    /// <summary>Bounds recursion ("(" and "not" each nest one level) so a hostile filter cannot overflow the stack.</summary>
    internal const int MaxDepth = 64;

    private readonly string _text;
    private int _pos;
    private int _depth;

    private FilterParser(string text) => _text = text;

    public static FilterNode Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength)
        {
            throw new FilterException(MaxLength, $"expression is {text.Length} characters long, the limit is {MaxLength}");
        }
        var parser = new FilterParser(text);
        parser.SkipWhitespace();
        var root = parser.ParseOr();
        parser.SkipWhitespace();
        if (parser._pos < text.Length)
        {
            throw parser.Expected(text[parser._pos] == ')' ? "the end of the expression (unmatched ')')" : "'and', 'or' or the end of the expression");
        }
        return root;
    }

    private FilterNode ParseOr()
    {
        var operands = new List<FilterNode> { ParseAnd() };
        while (TryKeyword("or"))
        {
            operands.Add(ParseAnd());
        }
        return FoldRight(operands, static (l, r) => new OrNode(l, r));
    }

    private FilterNode ParseAnd()
    {
        var operands = new List<FilterNode> { ParseNot() };
        while (TryKeyword("and"))
        {
            operands.Add(ParseNot());
        }
        return FoldRight(operands, static (l, r) => new AndNode(l, r));
    }

    // Right-leaning trees let the evaluator walk a long and/or chain in a loop instead of recursing per operand.
    private static FilterNode FoldRight(List<FilterNode> operands, Func<FilterNode, FilterNode, FilterNode> combine)
    {
        var node = operands[^1];
        for (var i = operands.Count - 2; i >= 0; i--)
        {
            node = combine(operands[i], node);
        }
        return node;
    }

    private FilterNode ParseNot()
    {
        SkipWhitespace();
        var start = _pos;
        if (TryKeyword("not"))
        {
            Enter(start);
            var operand = ParseNot();
            _depth--;
            // "not not x" is x, as in go-bexpr.
            return operand is NotNode inner ? inner.Operand : new NotNode(operand);
        }
        if (Peek() == '(')
        {
            Enter(start);
            _pos++;
            SkipWhitespace();
            var inner = ParseOr();
            SkipWhitespace();
            if (Peek() != ')')
            {
                throw Expected("')' to close the '(' at offset " + start);
            }
            _pos++;
            _depth--;
            return inner;
        }
        return ParseMatch();
    }

    private void Enter(int start)
    {
        if (++_depth > MaxDepth)
        {
            throw new FilterException(start, $"expression nests deeper than {MaxDepth} levels");
        }
    }

    private FilterNode ParseMatch()
    {
        SkipWhitespace();
        var start = _pos;
        var c = Peek();
        if (c == '\0')
        {
            throw Expected("an expression");
        }

        FilterSelector? selector = null;
        string? leadingValue = null;
        if (IsLetter(c))
        {
            selector = ParseSelector();
        }
        else if (c == '"' && IsJsonPointerAhead() && !IsInOperatorAfterPointer())
        {
            selector = ParseJsonPointer();
        }
        else if (c == '"' || c == '`' || c == '-' || char.IsAsciiDigit(c))
        {
            leadingValue = ParseValue();
        }
        else
        {
            throw Expected("a selector or a value");
        }

        SkipWhitespace();
        var opStart = _pos;
        if (TryKeyword("in"))
        {
            return FinishIn(start, selector?.ToString() ?? leadingValue!, MatchOperator.In);
        }
        if (TryKeywords("not", "in"))
        {
            return FinishIn(start, selector?.ToString() ?? leadingValue!, MatchOperator.NotIn);
        }
        if (selector is null)
        {
            throw Expected("'in' or 'not in' after a value");
        }

        MatchOperator op;
        if (TryLiteral("=="))
        {
            op = MatchOperator.Equal;
        }
        else if (TryLiteral("!="))
        {
            op = MatchOperator.NotEqual;
        }
        else if (TryKeyword("contains"))
        {
            op = MatchOperator.In;
        }
        else if (TryKeywords("not", "contains"))
        {
            op = MatchOperator.NotIn;
        }
        else if (TryKeyword("matches"))
        {
            op = MatchOperator.Matches;
        }
        else if (TryKeywords("not", "matches"))
        {
            op = MatchOperator.NotMatches;
        }
        else if (TryKeywords("is", "empty"))
        {
            return new MatchNode(selector, MatchOperator.IsEmpty, null, null, start);
        }
        else if (TryKeywords("is", "not", "empty"))
        {
            return new MatchNode(selector, MatchOperator.IsNotEmpty, null, null, start);
        }
        else
        {
            _pos = opStart;
            throw Expected("an operator (==, !=, contains, not contains, matches, not matches, is empty, is not empty, in, not in)");
        }

        SkipWhitespace();
        var valueStart = _pos;
        var value = ParseValue();
        Regex? pattern = null;
        if (op is MatchOperator.Matches or MatchOperator.NotMatches)
        {
            pattern = CompilePattern(value, valueStart);
        }
        return new MatchNode(selector, op, value, pattern, start);
    }

    private MatchNode FinishIn(int start, string value, MatchOperator op)
    {
        SkipWhitespace();
        var c = Peek();
        FilterSelector selector;
        if (IsLetter(c))
        {
            selector = ParseSelector();
        }
        else if (c == '"' && IsJsonPointerAhead())
        {
            selector = ParseJsonPointer();
        }
        else
        {
            throw Expected("a selector after 'in'");
        }
        return new MatchNode(selector, op, value, null, start);
    }

    private static Regex CompilePattern(string pattern, int offset)
    {
        try
        {
            // NonBacktracking keeps matching linear in the input, like Go's RE2, whatever the pattern.
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            throw new FilterException(offset, $"invalid regular expression: {OneLine(ex.Message)}", ex);
        }
    }

    private FilterSelector ParseSelector()
    {
        var path = new List<string> { ParseIdentifier() };
        while (true)
        {
            var c = Peek();
            if (c == '.' && IsLetter(PeekAt(_pos + 1)))
            {
                _pos++;
                path.Add(ParseIdentifier());
            }
            else if (c == '.' && char.IsAsciiDigit(PeekAt(_pos + 1)))
            {
                _pos++;
                var start = _pos;
                while (char.IsAsciiDigit(Peek()))
                {
                    _pos++;
                }
                path.Add(_text[start.._pos]);
            }
            else if (c == '.')
            {
                _pos++;
                throw Expected("a field name or an index after '.'");
            }
            else if (c == '[')
            {
                _pos++;
                SkipWhitespace();
                if (Peek() is not ('"' or '`'))
                {
                    throw Expected("a quoted string inside '[ ]'");
                }
                path.Add(ParseString());
                SkipWhitespace();
                if (Peek() != ']')
                {
                    throw Expected("']' to close the index");
                }
                _pos++;
            }
            else
            {
                return new FilterSelector(path);
            }
        }
    }

    private string ParseIdentifier()
    {
        var start = _pos;
        if (!IsLetter(Peek()))
        {
            throw Expected("a field name");
        }
        while (IsWordChar(Peek()))
        {
            _pos++;
        }
        return _text[start.._pos];
    }

    // go-bexpr reads a double-quoted selector that starts with '/' as a JSON pointer; anything else in quotes is a
    // string value. Segments use letters, digits and -_.~| only, so a quoted "/path with spaces" stays a value.
    private bool IsJsonPointerAhead()
    {
        var i = _pos + 1;
        if (PeekAt(i) != '/')
        {
            return false;
        }
        while (PeekAt(i) == '/')
        {
            i++;
            var segmentStart = i;
            while (i < _text.Length && IsPointerChar(_text[i]))
            {
                i++;
            }
            if (i == segmentStart)
            {
                return false;
            }
        }
        return PeekAt(i) == '"';
    }

    // go-bexpr would also read "/a/b" in front of 'in' as a pointer and use its text without the leading '/' as the
    // value, which silently changes the string; here a quoted value before 'in' is always the string as written.
    private bool IsInOperatorAfterPointer()
    {
        var save = _pos;
        ParseJsonPointer();
        var result = TryKeyword("in") || TryKeywords("not", "in");
        _pos = save;
        return result;
    }

    private FilterSelector ParseJsonPointer()
    {
        _pos++; // opening quote
        var path = new List<string>();
        while (Peek() == '/')
        {
            _pos++;
            var start = _pos;
            while (IsPointerChar(Peek()))
            {
                _pos++;
            }
            // RFC 6901 escapes, which go-bexpr applies through its pointer library.
            path.Add(_text[start.._pos].Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
        }
        _pos++; // closing quote (checked by IsJsonPointerAhead)
        return new FilterSelector(path);
    }

    private string ParseValue()
    {
        var c = Peek();
        if (IsLetter(c))
        {
            // A bare word is parsed as a selector and used as its dotted text: qa, v1.2, true.
            return ParseSelector().ToString();
        }
        if (c == '-' || char.IsAsciiDigit(c))
        {
            return ParseNumber();
        }
        if (c is '"' or '`')
        {
            return ParseString();
        }
        throw Expected("a value (a quoted string, a number or a bare word)");
    }

    private string ParseNumber()
    {
        var start = _pos;
        if (Peek() == '-')
        {
            _pos++;
        }
        if (Peek() == '0')
        {
            _pos++;
        }
        else if (char.IsAsciiDigit(Peek()))
        {
            while (char.IsAsciiDigit(Peek()))
            {
                _pos++;
            }
        }
        else
        {
            throw Expected("a digit");
        }
        if (Peek() == '.')
        {
            _pos++;
            if (!char.IsAsciiDigit(Peek()))
            {
                throw Expected("a digit after '.'");
            }
            while (char.IsAsciiDigit(Peek()))
            {
                _pos++;
            }
        }
        var next = Peek();
        if (!(next == '\0' || next == ')' || IsWhitespace(next)))
        {
            throw Expected("whitespace, ')' or the end after the number (invalid number literal)");
        }
        return _text[start.._pos];
    }

    private string ParseString()
    {
        var start = _pos;
        var quote = _text[_pos++];
        if (quote == '`')
        {
            var end = _text.IndexOf('`', _pos);
            if (end < 0)
            {
                throw new FilterException(start, "unterminated string literal");
            }
            var raw = _text[_pos..end];
            _pos = end + 1;
            // Go drops carriage returns from raw strings.
            return raw.Replace("\r", "", StringComparison.Ordinal);
        }
        return ParseDoubleQuoted(start);
    }

    // Go's escapes for double-quoted strings. \x and octal escapes are bytes, so the literal is assembled as UTF-8
    // and decoded at the end, exactly as Go would see it. Unlike go-bexpr we also accept \" (go-bexpr ends the
    // literal at any '"' and then rejects it), which makes every filter go-bexpr accepts mean the same here.
    private string ParseDoubleQuoted(int start)
    {
        var bytes = new List<byte>();
        Span<byte> utf8 = stackalloc byte[4];
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw new FilterException(start, "unterminated string literal");
            }
            var c = _text[_pos];
            if (c == '"')
            {
                _pos++;
                return Encoding.UTF8.GetString(bytes.ToArray());
            }
            if (c == '\n')
            {
                throw new FilterException(_pos, "newline in string literal");
            }
            if (c != '\\')
            {
                // A lone surrogate decodes to U+FFFD rather than throwing.
                Rune.DecodeFromUtf16(_text.AsSpan(_pos), out var rune, out var consumed);
                var n = rune.EncodeToUtf8(utf8);
                for (var i = 0; i < n; i++)
                {
                    bytes.Add(utf8[i]);
                }
                _pos += consumed;
                continue;
            }

            var escapeAt = _pos;
            _pos++;
            var e = Peek();
            _pos++;
            switch (e)
            {
                case 'a': bytes.Add(0x07); break;
                case 'b': bytes.Add(0x08); break;
                case 'f': bytes.Add(0x0C); break;
                case 'n': bytes.Add(0x0A); break;
                case 'r': bytes.Add(0x0D); break;
                case 't': bytes.Add(0x09); break;
                case 'v': bytes.Add(0x0B); break;
                case '\\': bytes.Add((byte)'\\'); break;
                case '"': bytes.Add((byte)'"'); break;
                case 'x':
                    bytes.Add((byte)ReadHex(2, escapeAt));
                    break;
                case 'u':
                case 'U':
                    var code = ReadHex(e == 'u' ? 4 : 8, escapeAt);
                    if (code > 0x10FFFF || !Rune.IsValid((int)code))
                    {
                        throw new FilterException(escapeAt, "escape is not a valid Unicode code point");
                    }
                    var count = new Rune((int)code).EncodeToUtf8(utf8);
                    for (var i = 0; i < count; i++)
                    {
                        bytes.Add(utf8[i]);
                    }
                    break;
                case >= '0' and <= '7':
                    var value = e - '0';
                    for (var i = 0; i < 2; i++)
                    {
                        var d = Peek();
                        if (d is < '0' or > '7')
                        {
                            throw new FilterException(escapeAt, "octal escape needs three digits");
                        }
                        value = value * 8 + (d - '0');
                        _pos++;
                    }
                    if (value > 255)
                    {
                        throw new FilterException(escapeAt, "octal escape is larger than a byte");
                    }
                    bytes.Add((byte)value);
                    break;
                default:
                    throw new FilterException(escapeAt, "unknown escape sequence in string literal");
            }
        }
    }

    private long ReadHex(int digits, int escapeAt)
    {
        var value = 0L;
        for (var i = 0; i < digits; i++)
        {
            var d = Peek();
            int v = d switch
            {
                >= '0' and <= '9' => d - '0',
                >= 'a' and <= 'f' => d - 'a' + 10,
                >= 'A' and <= 'F' => d - 'A' + 10,
                _ => throw new FilterException(escapeAt, $"escape needs {digits} hex digits"),
            };
            value = value * 16 + v;
            _pos++;
        }
        return value;
    }

    /// <summary>Consumes the keywords in order (whitespace between and before them) or nothing at all.</summary>
    private bool TryKeywords(params string[] words)
    {
        var save = _pos;
        foreach (var word in words)
        {
            if (!TryKeyword(word))
            {
                _pos = save;
                return false;
            }
        }
        return true;
    }

    private bool TryKeyword(string word)
    {
        var save = _pos;
        SkipWhitespace();
        if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) == 0
            && _pos + word.Length <= _text.Length
            && !IsWordChar(PeekAt(_pos + word.Length)))
        {
            _pos += word.Length;
            SkipWhitespace();
            return true;
        }
        _pos = save;
        return false;
    }

    private bool TryLiteral(string symbol)
    {
        if (string.CompareOrdinal(_text, _pos, symbol, 0, symbol.Length) == 0 && _pos + symbol.Length <= _text.Length)
        {
            _pos += symbol.Length;
            return true;
        }
        return false;
    }

    private void SkipWhitespace()
    {
        while (IsWhitespace(Peek()))
        {
            _pos++;
        }
    }

    private char Peek() => PeekAt(_pos);

    private char PeekAt(int i) => i < _text.Length ? _text[i] : '\0';

    private FilterException Expected(string what)
    {
        var found = _pos >= _text.Length ? "the end of the expression" : Quote(_text[_pos]);
        return new FilterException(_pos, $"expected {what}, found {found}");
    }

    private static string Quote(char c) => c switch
    {
        '\n' => "'\\n'",
        '\r' => "'\\r'",
        '\t' => "'\\t'",
        _ when char.IsControl(c) => $"U+{(int)c:X4}",
        _ => $"'{c}'",
    };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static bool IsLetter(char c) => char.IsAsciiLetter(c);

    private static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool IsPointerChar(char c) => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '~' or '|';
}
