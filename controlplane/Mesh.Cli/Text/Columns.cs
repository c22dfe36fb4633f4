using System.Text;

namespace Mesh.Cli.Text;

/// <summary>
/// Column alignment as Consul's output does it: <c>columnize</c> for tables (members) and Go's
/// <c>text/tabwriter</c> for key/value blocks (<c>kv get -detailed</c>).
/// </summary>
internal static class Columns
{
    /// <summary>
    /// Like <c>columnize.Format</c>: every column but the last is padded to its widest cell and followed by two
    /// spaces; cells are trimmed; the whole result is trimmed.
    /// </summary>
    public static string Columnize(IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = new List<int>();
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Count; i++)
            {
                var len = row[i].Trim().Length;
                if (widths.Count <= i) widths.Add(len);
                else if (widths[i] < len) widths[i] = len;
            }
        }
        var sb = new StringBuilder();
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Count; i++)
            {
                var cell = row[i].Trim();
                if (i == row.Count - 1) sb.Append(cell).Append('\n');
                else sb.Append(cell.PadRight(widths[i])).Append("  ");
            }
        }
        return sb.ToString().Trim();
    }

    /// <summary>
    /// Two-column block like Go's <c>tabwriter.NewWriter(w, 0, 2, padding, ' ', 0)</c> with one tab per line:
    /// names padded to the widest name plus <paramref name="padding"/> spaces, then the value.
    /// </summary>
    public static string KeyValueBlock(IReadOnlyList<(string Name, string Value)> lines, int padding)
    {
        var width = lines.Count == 0 ? 0 : lines.Max(l => l.Name.Length) + padding;
        return string.Join('\n', lines.Select(l => l.Name.PadRight(width) + l.Value));
    }

    /// <summary>Greedy word wrap at <paramref name="width"/> columns, each line indented by <paramref name="indent"/> spaces.</summary>
    public static string Wrap(string text, int width, int indent)
    {
        var pad = new string(' ', indent);
        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                lines.Add(line.ToString());
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) lines.Add(line.ToString());
        return string.Join('\n', lines.Select(l => pad + l));
    }
}
