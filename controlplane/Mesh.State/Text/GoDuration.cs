using System.Globalization;
using System.Text;

namespace Mesh.State.Text;

/// <summary>
/// Durations as Go writes and reads them (<c>10s</c>, <c>1m30s</c>, <c>1.5h</c>, <c>300ms</c>): the syntax of
/// Consul's <c>?wait=</c>, session <c>TTL</c>/<c>LockDelay</c>, config files and entries, and CLI flags. One implementation for the
/// agent and the CLI, so both accept exactly the same text.
/// </summary>
public static class GoDuration
{
    private const long TicksPerMicrosecond = TimeSpan.TicksPerMillisecond / 1000;

    /// <summary>Parses a Go duration ("300ms", "-1.5h", "2h45m", "0"); false when it is not one.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var s = text;
        var negative = false;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        if (s.SequenceEqual("0")) return true;
        if (s.IsEmpty) return false;

        decimal totalNanoseconds = 0;
        while (!s.IsEmpty)
        {
            var numberEnd = 0;
            while (numberEnd < s.Length && (char.IsAsciiDigit(s[numberEnd]) || s[numberEnd] == '.')) numberEnd++;
            if (numberEnd == 0) return false;
            var number = s[..numberEnd];
            if (number.SequenceEqual(".") || number.IndexOf('.') != number.LastIndexOf('.')) return false;
            if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)) return false;
            s = s[numberEnd..];

            var unitEnd = 0;
            while (unitEnd < s.Length && !char.IsAsciiDigit(s[unitEnd]) && s[unitEnd] != '.') unitEnd++;
            decimal? scale = s[..unitEnd] switch
            {
                "ns" => 1m,
                "us" or "µs" or "μs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => null,
            };
            if (scale is null) return false;
            s = s[unitEnd..];
            try { totalNanoseconds += amount * scale.Value; }
            catch (OverflowException) { return false; }
        }
        var ticks = totalNanoseconds / 100m;
        if (ticks > TimeSpan.MaxValue.Ticks) return false;
        value = TimeSpan.FromTicks((long)ticks);
        if (negative) value = value.Negate();
        return true;
    }

    /// <summary>Milliseconds as Consul's API client sends <c>?wait=</c>: "15000ms", at least "1ms" when positive.</summary>
    public static string ToMilliseconds(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        if (value > TimeSpan.Zero && ms == 0) ms = 1;
        return ms.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    /// <summary>Formats like Go's <c>Duration.String</c>: "5s", "1m30s", "1h0m0s", "250ms", "0s".</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero) return "0s";
        var sb = new StringBuilder();
        if (value < TimeSpan.Zero)
        {
            sb.Append('-');
            value = value.Negate();
        }
        if (value < TimeSpan.FromSeconds(1))
        {
            if (value.Ticks >= TimeSpan.TicksPerMillisecond)
                return sb.Append(Trim(value.Ticks / (decimal)TimeSpan.TicksPerMillisecond)).Append("ms").ToString();
            if (value.Ticks >= TicksPerMicrosecond)
                return sb.Append(Trim(value.Ticks / (decimal)TicksPerMicrosecond)).Append("µs").ToString();
            return sb.Append(value.Ticks * 100).Append("ns").ToString();
        }
        var hours = (long)value.TotalHours;
        if (hours > 0) sb.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        if (hours > 0 || value.Minutes > 0) sb.Append(value.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        var seconds = value.Seconds + (value.Ticks % TimeSpan.TicksPerSecond) / (decimal)TimeSpan.TicksPerSecond;
        return sb.Append(Trim(seconds)).Append('s').ToString();
    }

    private static string Trim(decimal d) => d.ToString("0.#########", CultureInfo.InvariantCulture);
}
