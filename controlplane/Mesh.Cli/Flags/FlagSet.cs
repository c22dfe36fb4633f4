using Mesh.State.Text;
using Mesh.Agent.Config;
using System.Globalization;
using Mesh.Cli.Text;

namespace Mesh.Cli.Flags;

/// <summary>
/// Command-line flags parsed the way Go's <c>flag</c> package (and so Consul's CLI) parses them:
/// <c>-name value</c>, <c>-name=value</c>, <c>--name</c> is the same as <c>-name</c>, boolean flags take no value
/// unless written <c>-name=false</c>, and parsing stops at the first non-flag argument or at <c>--</c>.
/// </summary>
internal sealed class FlagSet
{
    /// <summary>The section Consul's help puts the shared HTTP client flags in.</summary>
    public const string HttpGroup = "HTTP API Options";

    /// <summary>The section for a command's own flags.</summary>
    public const string CommandGroup = "Command Options";

    private readonly Dictionary<string, Flag> _flags = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public FlagSet(string usage) => Usage = usage;

    /// <summary>The command's usage text, shown with <c>-h</c> or after a flag error.</summary>
    public string Usage { get; }

    /// <summary>Arguments left after the flags.</summary>
    public IReadOnlyList<string> Args { get; private set; } = [];

    /// <summary>Names of the flags that were given on the command line.</summary>
    public HashSet<string> Given { get; } = new(StringComparer.Ordinal);

    /// <summary>The help section that flags registered from now on belong to.</summary>
    public string Group { get; set; } = CommandGroup;

    public Func<string> String(string name, string defaultValue, string help) => String(name, defaultValue, help, "string");

    /// <summary>A string flag whose help shows <c>-name=&lt;<paramref name="valueName"/>&gt;</c>.</summary>
    public Func<string> String(string name, string defaultValue, string help, string valueName)
    {
        var value = defaultValue;
        Add(name, help, isBool: false, v => value = v, defaultValue, valueName);
        return () => value;
    }

    public Func<bool> Bool(string name, bool defaultValue, string help)
    {
        var value = defaultValue;
        Add(name, help, isBool: true, v => value = ParseBool(name, v), defaultValue ? "true" : "false", "");
        return () => value;
    }

    public Func<int> Int(string name, int defaultValue, string help)
    {
        var value = defaultValue;
        Add(name, help, isBool: false, v => value = int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n : throw new FlagException($"invalid value \"{v}\" for flag -{name}: parse error"), defaultValue.ToString(CultureInfo.InvariantCulture), "int");
        return () => value;
    }

    public Func<ulong> UInt64(string name, ulong defaultValue, string help)
    {
        var value = defaultValue;
        Add(name, help, isBool: false, v => value = ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n : throw new FlagException($"invalid value \"{v}\" for flag -{name}: parse error"), defaultValue.ToString(CultureInfo.InvariantCulture), "uint");
        return () => value;
    }

    /// <summary>A Go-syntax duration flag (<c>1s</c>, <c>1m30s</c>, <c>250ms</c>).</summary>
    public Func<TimeSpan> Duration(string name, TimeSpan defaultValue, string help)
    {
        var value = defaultValue;
        Add(name, help, isBool: false, v => value = GoDuration.TryParse(v, out var d)
            ? d : throw new FlagException($"invalid value \"{v}\" for flag -{name}: parse error"), GoDuration.Format(defaultValue), "duration");
        return () => value;
    }

    /// <summary>A flag that may be repeated; every occurrence is kept in order.</summary>
    public Func<IReadOnlyList<string>> List(string name, string help)
    {
        var values = new List<string>();
        Add(name, help, isBool: false, values.Add, "", "value");
        return () => values;
    }

    /// <summary>
    /// A repeatable <c>key=value</c> flag (Consul's <c>FlagMapValue</c>): the value splits at the first <c>=</c>, a
    /// repeated key keeps the last value, and a value without <c>=</c> is a parse error.
    /// </summary>
    public Func<IReadOnlyDictionary<string, string>> Map(string name, string help)
    {
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Add(name, help, isBool: false, v =>
        {
            var eq = v.IndexOf('=');
            if (eq < 0) throw new FlagException($"invalid value \"{v}\" for flag -{name}: Missing \"=\" value in argument: {v}");
            values[v[..eq]] = v[(eq + 1)..];
        }, "", "value");
        return () => values;
    }

    /// <summary>A flag whose value is handed to <paramref name="set"/> as it is parsed.</summary>
    public void Custom(string name, string help, Action<string> set, bool isBool = false) => Add(name, help, isBool, set, "", isBool ? "" : "value");

    /// <summary>
    /// A second, undocumented name for an existing flag (e.g. <c>-dc</c> for <c>-datacenter</c>); it sets the same
    /// value, is recorded in <see cref="Given"/> under the target's name, and is left out of the help.
    /// </summary>
    public void Alias(string alias, string target)
    {
        var flag = _flags[target];
        _flags[alias] = flag with { Hidden = true };
    }

    private void Add(string name, string help, bool isBool, Action<string> set, string defaultText, string valueName)
    {
        _flags[name] = new Flag(name, help, isBool, set, defaultText, valueName, Group, Hidden: false);
        _order.Add(name);
    }

    /// <summary>Parses <paramref name="args"/>; throws <see cref="FlagException"/> on an unknown or malformed flag.</summary>
    public void Parse(IReadOnlyList<string> args)
    {
        var i = 0;
        for (; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--") { i++; break; }
            if (arg.Length < 2 || arg[0] != '-') break;
            var body = arg[1] == '-' ? arg[2..] : arg[1..];
            if (body.Length == 0 || body[0] == '-' || body[0] == '=')
                throw new FlagException($"bad flag syntax: {arg}");
            string name;
            string? value = null;
            var eq = body.IndexOf('=');
            if (eq >= 0) { name = body[..eq]; value = body[(eq + 1)..]; }
            else name = body;
            if (name is "h" or "help") throw new HelpRequestedException();
            if (!_flags.TryGetValue(name, out var flag))
                throw new FlagException($"flag provided but not defined: -{name}");
            if (value is null)
            {
                if (flag.IsBool) value = "true";
                else if (i + 1 < args.Count) value = args[++i];
                else throw new FlagException($"flag needs an argument: -{name}");
            }
            flag.Set(value);
            Given.Add(flag.Name);
        }
        Args = args.Skip(i).ToArray();
    }

    /// <summary>
    /// The usage text followed by the flags in Consul's layout: an "HTTP API Options" section for the shared client
    /// flags, then "Command Options", each flag as <c>-name=&lt;type&gt;</c> with its help wrapped and indented.
    /// </summary>
    public string Help()
    {
        var w = new StringWriter { NewLine = "\n" };
        w.Write(Usage.Trim());
        w.Write("\n\n");
        var groups = _order.Select(n => _flags[n]).Where(f => !f.Hidden).GroupBy(f => f.Group)
            .OrderBy(g => g.Key == HttpGroup ? 0 : 1);
        foreach (var group in groups)
        {
            w.Write(group.Key);
            w.Write("\n\n");
            foreach (var f in group.OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                var (placeholder, help) = Unquote(f);
                w.Write(placeholder.Length == 0 ? $"  -{f.Name}\n" : $"  -{f.Name}=<{placeholder}>\n");
                w.Write(Columns.Wrap(help, 72 - 5, 5));
                w.Write("\n\n");
            }
        }
        return w.ToString().TrimEnd('\n');
    }

    /// <summary>Go's <c>flag.UnquoteUsage</c>: a `back-quoted` word in the help names the value and loses its quotes.</summary>
    private static (string Placeholder, string Help) Unquote(Flag f)
    {
        var start = f.Help.IndexOf('`');
        if (start >= 0)
        {
            var end = f.Help.IndexOf('`', start + 1);
            if (end > start)
            {
                var name = f.Help[(start + 1)..end];
                return (name, f.Help[..start] + name + f.Help[(end + 1)..]);
            }
        }
        return (f.ValueName, f.Help);
    }

    private static bool ParseBool(string name, string v) => v.ToLowerInvariant() switch
    {
        "1" or "t" or "true" => true,
        "0" or "f" or "false" => false,
        _ => throw new FlagException($"invalid boolean value \"{v}\" for -{name}: parse error"),
    };

    private sealed record Flag(string Name, string Help, bool IsBool, Action<string> Set, string DefaultText, string ValueName, string Group, bool Hidden);
}

/// <summary>A command line that cannot be parsed; the message is printed with the usage and the exit code is 1.</summary>
internal sealed class FlagException(string message) : Exception(message);

/// <summary><c>-h</c> or <c>-help</c> was given.</summary>
internal sealed class HelpRequestedException() : Exception("help requested");
