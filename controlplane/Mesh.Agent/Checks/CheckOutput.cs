using Mesh.State.Text;
using System.Text;

namespace Mesh.Agent.Checks;

/// <summary>Output limits and formats shared by the probes, as Consul's agent/checks package has them.</summary>
public static class CheckOutput
{
    /// <summary>Consul's <c>DefaultBufSize</c>: at most 4 KiB of a check's output is kept.</summary>
    public const int MaxSize = 4 * 1024;

    /// <summary>
    /// Consul's TTL form: the first <see cref="MaxSize"/> bytes and a note, because a TTL update is a message the
    /// caller wrote and its beginning is what it meant to say.
    /// </summary>
    public static string TruncateHead(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var total = Encoding.UTF8.GetByteCount(output);
        if (total <= MaxSize)
        {
            return output;
        }

        var head = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(output), 0, MaxSize);
        return $"{head} ... (captured {MaxSize} of {total} bytes)";
    }

    /// <summary>Go's <c>time.Duration.String()</c> (200ms, 1.5s, 1m30s), which Consul prints in its timeout messages.</summary>
    public static string GoDuration(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var sign = value < TimeSpan.Zero ? "-" : string.Empty;
        var ticks = Math.Abs(value.Ticks);
        if (ticks < TimeSpan.TicksPerSecond)
        {
            if (ticks >= TimeSpan.TicksPerMillisecond)
            {
                return sign + Trim((decimal)ticks / TimeSpan.TicksPerMillisecond) + "ms";
            }

            if (ticks >= TimeSpan.TicksPerMicrosecond)
            {
                return sign + Trim((decimal)ticks / TimeSpan.TicksPerMicrosecond) + "µs";
            }

            return sign + (ticks * 100) + "ns";
        }

        var hours = ticks / TimeSpan.TicksPerHour;
        var minutes = ticks % TimeSpan.TicksPerHour / TimeSpan.TicksPerMinute;
        var seconds = Trim((decimal)(ticks % TimeSpan.TicksPerMinute) / TimeSpan.TicksPerSecond) + "s";
        if (hours > 0)
        {
            return $"{sign}{hours}h{minutes}m{seconds}";
        }

        return minutes > 0 ? $"{sign}{minutes}m{seconds}" : sign + seconds;

        static string Trim(decimal number) =>
            number.ToString("0.#########", System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Keeps the last <see cref="CheckOutput.MaxSize"/> bytes written to it and counts all of them, like the circular
/// buffer Consul captures HTTP bodies and script output in: the end of a long output is where the verdict usually is.
/// Thread-safe because a script's stdout and stderr are pumped into one buffer concurrently.
/// </summary>
internal sealed class TailBuffer
{
    private readonly byte[] _ring = new byte[CheckOutput.MaxSize];
    private readonly Lock _gate = new();
    private long _total;

    /// <summary>All bytes ever written.</summary>
    public long TotalWritten
    {
        get
        {
            lock (_gate)
            {
                return _total;
            }
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            // Bytes that would be overwritten within this same write are only counted, never copied.
            if (data.Length > _ring.Length)
            {
                _total += data.Length - _ring.Length;
                data = data[^_ring.Length..];
            }

            foreach (var b in data)
            {
                _ring[_total++ % _ring.Length] = b;
            }
        }
    }

    /// <summary>The kept bytes, oldest first, as UTF-8 text.</summary>
    public string Text()
    {
        lock (_gate)
        {
            if (_total <= _ring.Length)
            {
                return Encoding.UTF8.GetString(_ring, 0, (int)_total);
            }

            var start = (int)(_total % _ring.Length);
            var ordered = new byte[_ring.Length];
            _ring.AsSpan(start).CopyTo(ordered);
            _ring.AsSpan(0, start).CopyTo(ordered.AsSpan(_ring.Length - start));
            return Encoding.UTF8.GetString(ordered);
        }
    }
}
