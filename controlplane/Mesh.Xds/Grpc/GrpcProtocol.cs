using System.Globalization;
using System.Text;

namespace Mesh.Xds.Grpc;

/// <summary>
/// The wire rules of gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md) that the server and the client share: header
/// names, the content type, <c>grpc-timeout</c> and the percent-encoding of <c>grpc-message</c>.
/// </summary>
internal static class GrpcProtocol
{
    /// <summary>The content type every gRPC response carries.</summary>
    public const string ContentType = "application/grpc";

    /// <summary>Status code header/trailer.</summary>
    public const string StatusHeader = "grpc-status";

    /// <summary>Status message header/trailer (percent-encoded).</summary>
    public const string MessageHeader = "grpc-message";

    /// <summary>The call's timeout, sent by the client.</summary>
    public const string TimeoutHeader = "grpc-timeout";

    /// <summary>The compression of the sender's messages.</summary>
    public const string EncodingHeader = "grpc-encoding";

    /// <summary>The compressions the sender accepts.</summary>
    public const string AcceptEncodingHeader = "grpc-accept-encoding";

    /// <summary>Size of the frame header: one compressed-flag byte and a 4-byte big-endian length.</summary>
    public const int FrameHeaderSize = 5;

    /// <summary>The default cap on a received message (4 MiB), as in every gRPC implementation.</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>The largest <c>grpc-timeout</c> value: at most 8 ASCII digits.</summary>
    private const long MaxTimeoutValue = 99_999_999;

    /// <summary>
    /// Whether a request's content type is one this implementation serves: <c>application/grpc</c> or
    /// <c>application/grpc+proto</c>, optionally with parameters. Other codecs (<c>+json</c>) are not served.
    /// </summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = contentType.AsSpan(ContentType.Length);
        var semicolon = rest.IndexOf(';');
        if (semicolon >= 0)
        {
            rest = rest[..semicolon];
        }

        rest = rest.TrimEnd();
        return rest.Length == 0 || rest.Equals("+proto", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Parses a <c>grpc-timeout</c> value: 1 to 8 digits and a unit (<c>H</c> hours, <c>M</c> minutes, <c>S</c>
    /// seconds, <c>m</c> milliseconds, <c>u</c> microseconds, <c>n</c> nanoseconds).
    /// </summary>
    public static bool TryParseTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (value is null || value.Length is < 2 or > 9)
        {
            return false;
        }

        var digits = value.AsSpan(0, value.Length - 1);
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        var amount = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        // The largest legal value, 99,999,999 hours (about 11,400 years), still fits a TimeSpan (about 29,000 years).
        timeout = value[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromTicks(amount * 10),
            // Round nanoseconds up to whole ticks so a tiny timeout is never read as none at all.
            'n' => TimeSpan.FromTicks((amount + 99) / 100),
            _ => TimeSpan.MinValue,
        };
        return timeout != TimeSpan.MinValue;
    }

    /// <summary>
    /// Formats a timeout for <c>grpc-timeout</c> in the finest unit that fits 8 digits, rounding up so the server
    /// never sees a shorter deadline than the client's. Negative timeouts are sent as zero.
    /// </summary>
    public static string FormatTimeout(TimeSpan timeout)
    {
        var ticks = Math.Max(0, timeout.Ticks);
        // Microseconds first: ticks are 100 ns, so finer units add nothing.
        var micros = CeilDiv(ticks, 10);
        if (micros <= MaxTimeoutValue)
        {
            return micros.ToString(CultureInfo.InvariantCulture) + "u";
        }

        var millis = CeilDiv(ticks, TimeSpan.TicksPerMillisecond);
        if (millis <= MaxTimeoutValue)
        {
            return millis.ToString(CultureInfo.InvariantCulture) + "m";
        }

        var seconds = CeilDiv(ticks, TimeSpan.TicksPerSecond);
        if (seconds <= MaxTimeoutValue)
        {
            return seconds.ToString(CultureInfo.InvariantCulture) + "S";
        }

        var minutes = CeilDiv(ticks, TimeSpan.TicksPerMinute);
        if (minutes <= MaxTimeoutValue)
        {
            return minutes.ToString(CultureInfo.InvariantCulture) + "M";
        }

        return Math.Min(CeilDiv(ticks, TimeSpan.TicksPerHour), MaxTimeoutValue).ToString(CultureInfo.InvariantCulture) + "H";
    }

    /// <summary>
    /// Percent-encodes a status message: its UTF-8 bytes outside printable ASCII, and <c>%</c> itself, become
    /// <c>%XX</c>, so any text travels in an HTTP/2 header.
    /// </summary>
    public static string EncodeMessage(string message)
    {
        var clean = true;
        foreach (var c in message)
        {
            if (c is < ' ' or > '~' or '%')
            {
                clean = false;
                break;
            }
        }

        if (clean)
        {
            return message;
        }

        var bytes = Encoding.UTF8.GetBytes(message);
        var builder = new StringBuilder(bytes.Length + 16);
        foreach (var b in bytes)
        {
            if (b is < (byte)' ' or > (byte)'~' or (byte)'%')
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append((char)b);
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// Decodes a percent-encoded status message. A <c>%</c> not followed by two hex digits is kept as it is (the
    /// protocol asks receivers to be lenient); bytes that are not valid UTF-8 become U+FFFD.
    /// </summary>
    public static string DecodeMessage(string? encoded)
    {
        if (string.IsNullOrEmpty(encoded))
        {
            return "";
        }

        if (!encoded.Contains('%'))
        {
            return encoded;
        }

        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c == '%' && i + 2 < encoded.Length && Uri.IsHexDigit(encoded[i + 1]) && Uri.IsHexDigit(encoded[i + 2]))
            {
                bytes.Add((byte)((Uri.FromHex(encoded[i + 1]) << 4) | Uri.FromHex(encoded[i + 2])));
                i += 2;
            }
            else if (c < 0x80)
            {
                bytes.Add((byte)c);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>
    /// The gRPC code for a non-200 HTTP response that carries no <c>grpc-status</c>
    /// (grpc/doc/http-grpc-status-mapping.md).
    /// </summary>
    public static StatusCode FromHttpStatus(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    /// <summary>Parses a <c>grpc-status</c> value; anything but a decimal in 0..16 is not a status this side knows.</summary>
    public static bool TryParseStatus(string? value, out StatusCode code)
    {
        code = StatusCode.Unknown;
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        // Codes outside the known range are still statuses: the spec maps them to UNKNOWN.
        code = number is >= 0 and <= 16 ? (StatusCode)number : StatusCode.Unknown;
        return true;
    }

    /// <summary>The <c>grpc-status</c> text of a code.</summary>
    public static string StatusText(StatusCode code) => ((int)code).ToString(CultureInfo.InvariantCulture);

    private static long CeilDiv(long value, long divisor) => (value + divisor - 1) / divisor;
}
