using System.Globalization;
using System.Text;

namespace Mesh.Agent.Config;

/// <summary>
/// Durations as Go writes and reads them (<c>10s</c>, <c>1m30s</c>, <c>1.5h</c>, <c>300ms</c>), the syntax of
/// Consul's <c>?wait=</c>, session <c>TTL</c>/<c>LockDelay</c> and config files.
/// </summary>
public static class GoDuration
{
    /// <summary>Parses a Go duration. A bare <c>0</c> is accepted; any other number needs a unit.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text.IsEmpty) return false;
        var negative = false;
        if (text[0] is '-' or '+') { negative = text[0] == '-'; text = text[1..]; }
        if (text is "0") return true;
        if (text.IsEmpty) return false;
        decimal totalNs = 0;
        while (!text.IsEmpty)
        {
            var i = 0;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (i == 0 || !decimal.TryParse(text[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                return false;
            text = text[i..];
            var u = 0;
            while (u < text.Length && !char.IsAsciiDigit(text[u]) && text[u] != '.') u++;
            decimal unitNs = text[..u] switch
            {
                "ns" => 1m,
                "us" or "µs" or "μs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => -1m,
            };
            if (unitNs < 0) return false;
            text = text[u..];
            totalNs += number * unitNs;
            if (totalNs > (decimal)TimeSpan.MaxValue.Ticks * 100) return false;
        }
        var ticks = (long)(totalNs / 100m);
        value = TimeSpan.FromTicks(negative ? -ticks : ticks);
        return true;
    }

    /// <summary>Formats like Go's <c>time.Duration.String()</c>: <c>15s</c>, <c>1m0s</c>, <c>1h30m0s</c>, <c>250ms</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero) return "0s";
        var sb = new StringBuilder();
        if (value < TimeSpan.Zero) { sb.Append('-'); value = value.Negate(); }
        if (value < TimeSpan.FromSeconds(1))
        {
            var ns = value.Ticks * 100;
            if (ns < 1_000) return sb.Append(ns).Append("ns").ToString();
            if (ns < 1_000_000) return sb.Append(Trim(ns / 1_000m)).Append("µs").ToString();
            return sb.Append(Trim(ns / 1_000_000m)).Append("ms").ToString();
        }
        var hours = (long)value.TotalHours;
        if (hours > 0) sb.Append(hours).Append('h');
        if (hours > 0 || value.Minutes > 0) sb.Append(value.Minutes).Append('m');
        var seconds = value.Seconds + (value.Ticks % TimeSpan.TicksPerSecond) / (decimal)TimeSpan.TicksPerSecond;
        return sb.Append(Trim(seconds)).Append('s').ToString();
    }

    private static string Trim(decimal d) => d.ToString("0.#########", CultureInfo.InvariantCulture);
}
