using System.Globalization;

namespace Mesh.State.Filtering;

/// <summary>
/// Go's strconv conversions that go-bexpr applies to a literal once it knows the field's type, so the same filter
/// accepts and rejects the same literals as Consul.
/// </summary>
internal static class GoLiterals
{
    /// <summary>strconv.ParseBool: 1, t, T, TRUE, true, True and their false counterparts.</summary>
    public static bool TryParseBool(string text, out bool value)
    {
        switch (text)
        {
            case "1" or "t" or "T" or "TRUE" or "true" or "True":
                value = true;
                return true;
            case "0" or "f" or "F" or "FALSE" or "false" or "False":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>
    /// strconv.ParseInt(text, 0, 64): optional sign, then 0x/0X hex, 0b/0B binary, 0o/0O or a leading 0 octal,
    /// otherwise decimal; underscores only between digits (a base prefix counts as a digit).
    /// </summary>
    public static bool TryParseInt64(string text, out long value)
    {
        value = 0;
        var s = text.AsSpan();
        var negative = false;
        if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        var radix = 10;
        var prefixed = false; // a consumed prefix (or octal's leading 0) may be followed by '_'
        if (s.Length >= 2 && s[0] == '0')
        {
            switch (s[1])
            {
                case 'x' or 'X': radix = 16; s = s[2..]; prefixed = true; break;
                case 'b' or 'B': radix = 2; s = s[2..]; prefixed = true; break;
                case 'o' or 'O': radix = 8; s = s[2..]; prefixed = true; break;
                default: radix = 8; s = s[1..]; prefixed = true; break;
            }
        }
        if (s.IsEmpty)
        {
            return false;
        }
        ulong magnitude = 0;
        var previousUnderscore = !prefixed; // an underscore may not lead the digits
        foreach (var c in s)
        {
            if (c == '_' && !previousUnderscore)
            {
                previousUnderscore = true;
                continue;
            }
            var digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'z' => c - 'a' + 10,
                >= 'A' and <= 'Z' => c - 'A' + 10,
                _ => 99,
            };
            if (digit >= radix)
            {
                return false;
            }
            previousUnderscore = false;
            if (magnitude > (ulong.MaxValue - (ulong)digit) / (ulong)radix)
            {
                return false;
            }
            magnitude = magnitude * (ulong)radix + (ulong)digit;
        }
        if (previousUnderscore)
        {
            return false;
        }
        if (negative)
        {
            if (magnitude > 1UL << 63)
            {
                return false;
            }
            value = unchecked(-(long)magnitude);
            return true;
        }
        if (magnitude > long.MaxValue)
        {
            return false;
        }
        value = (long)magnitude;
        return true;
    }

    /// <summary>strconv.ParseFloat(text, 64) for decimal forms, plus Inf/Infinity/NaN as Go spells them.</summary>
    public static bool TryParseFloat(string text, out double value)
    {
        switch (text.ToLowerInvariant())
        {
            case "inf" or "+inf" or "infinity" or "+infinity":
                value = double.PositiveInfinity;
                return true;
            case "-inf" or "-infinity":
                value = double.NegativeInfinity;
                return true;
            case "nan":
                value = double.NaN;
                return true;
        }
        return double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out value);
    }
}
