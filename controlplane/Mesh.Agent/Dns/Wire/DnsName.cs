using System.Text;

namespace Mesh.Agent.Dns.Wire;

/// <summary>Conversions between dotted names and their uncompressed wire form (length-prefixed labels ending in 0).</summary>
internal static class DnsName
{
    /// <summary>
    /// The wire form of <paramref name="name"/> (a trailing dot is optional), or null when it cannot be a DNS name: an empty
    /// or over-long label, a non-ASCII character, or more than 255 bytes in all. Records with such names are left out
    /// of answers rather than sent broken.
    /// </summary>
    public static byte[]? ToWire(string name)
    {
        if (name is "." or "") return [0];
        var text = name.EndsWith('.') ? name.AsSpan(0, name.Length - 1) : name.AsSpan();
        if (text.Length + 2 > DnsLimits.MaxName) return null;
        var wire = new byte[text.Length + 2];
        var at = 0;
        foreach (var range in text.Split('.'))
        {
            var label = text[range];
            if (label.Length is 0 or > DnsLimits.MaxLabel) return null;
            wire[at++] = (byte)label.Length;
            foreach (var c in label)
            {
                if (c > 0x7E || c < 0x21) return null;
                wire[at++] = (byte)c;
            }
        }
        wire[at] = 0;
        return wire;
    }

    /// <summary>Whether <paramref name="label"/> can be one DNS label.</summary>
    public static bool IsLabel(ReadOnlySpan<char> label)
    {
        if (label.Length is 0 or > DnsLimits.MaxLabel) return false;
        foreach (var c in label)
            if (c > 0x7E || c < 0x21 || c == '.') return false;
        return true;
    }

    /// <summary>Dotted text of a wire name (for logs and tests).</summary>
    public static string ToText(ReadOnlySpan<byte> wire)
    {
        if (wire.Length == 0 || wire[0] == 0) return ".";
        var sb = new StringBuilder();
        for (var p = 0; p < wire.Length && wire[p] != 0; p += wire[p] + 1)
            sb.Append(Encoding.ASCII.GetString(wire.Slice(p + 1, wire[p]))).Append('.');
        return sb.ToString();
    }
}
