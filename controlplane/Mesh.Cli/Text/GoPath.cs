using System.Text;

namespace Mesh.Cli.Text;

/// <summary>
/// Go's <c>path.Join</c> / <c>path.Clean</c> for slash-separated KV keys. Consul builds lock and import keys with
/// these, so <c>lock a/ cmd</c> uses <c>a/.lock</c> and <c>kv import -prefix=p</c> writes <c>p/key</c>, never
/// <c>p//key</c>; matching them keeps the keys Mesh writes identical to Consul's.
/// </summary>
internal static class GoPath
{
    /// <summary>Joins the non-empty elements with '/' and cleans the result; "" when every element is empty.</summary>
    public static string Join(params string[] elements)
    {
        var parts = elements.Where(e => e.Length > 0).ToArray();
        return parts.Length == 0 ? "" : Clean(string.Join('/', parts));
    }

    /// <summary>The shortest lexically equivalent path: no empty, "." or resolvable ".." elements.</summary>
    public static string Clean(string path)
    {
        if (path.Length == 0) return ".";
        var rooted = path[0] == '/';
        var stack = new List<string>();
        foreach (var element in path.Split('/'))
        {
            if (element.Length == 0 || element == ".") continue;
            if (element == "..")
            {
                if (stack.Count > 0 && stack[^1] != "..") stack.RemoveAt(stack.Count - 1);
                else if (!rooted) stack.Add("..");
                continue;
            }
            stack.Add(element);
        }
        var sb = new StringBuilder();
        if (rooted) sb.Append('/');
        sb.AppendJoin('/', stack);
        return sb.Length == 0 ? "." : sb.ToString();
    }
}
