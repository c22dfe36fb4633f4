using System.Globalization;

namespace Mesh.Cli.Flags;

/// <summary>
/// Command-line flags parsed the way Go's <c>flag</c> package (and so Consul's CLI) parses them:
/// <c>-name value</c>, <c>-name=value</c>, <c>--name</c> is the same as <c>-name</c>, boolean flags take no value
/// unless written <c>-name=false</c>, and parsing stops at the first non-flag argument or at <c>--</c>.
/// </summary>
internal sealed class FlagSet
{
    private readonly Dictionary<string, Flag> _flags = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public FlagSet(string usage) => Usage = usage;

    /// <summary>The command's usage text, shown with <c>-h</c> or after a flag error.</summary>
    public string Usage { get; }

    /// <summary>Arguments left after the flags.</summary>
    public IReadOnlyList<string> Args { get; private set; } = [];

    /// <summary>Names of the flags that were given on the command line.</summary>
    public HashSet<string> Given { get; } = new(StringComparer.Ordinal);

    public Func<string> String(string name, string defaultValue, string help)
    {
        var value = defaultValue;
        Add(name, help, isBool: false, v => value = v, defaultValue);
        return () => value;
    }

    public Func<bool> Bool(string name, bool defaultValue, string help)
    {
        var value = defaultValue;
        Add(name, help, isBool: true, v => value = ParseBool(name, v), defaultValue ? "true" : "false");
        return () => value;
    }

    public Func<int> Int(string name, int defaultValue, string help)
    {
        var value = defaultValue;
        Add(name, help, isBool: false, v => value = int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n : throw new FlagException($"invalid value \"{v}\" for flag -{name}: parse error"), defaultValue.ToString(CultureInfo.InvariantCulture));
        return () => value;
    }

    public Func<ulong> UInt64(string name, ulong defaultValue, string help)
    {
        var value = defaultValue;
        Add(name, help, isBool: false, v => value = ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n : throw new FlagException($"invalid value \"{v}\" for flag -{name}: parse error"), defaultValue.ToString(CultureInfo.InvariantCulture));
        return () => value;
    }

    /// <summary>A flag that may be repeated; every occurrence is kept in order.</summary>
    public Func<IReadOnlyList<string>> List(string name, string help)
    {
        var values = new List<string>();
        Add(name, help, isBool: false, values.Add, "");
        return () => values;
    }

    /// <summary>A flag whose value is handed to <paramref name="set"/> as it is parsed.</summary>
    public void Custom(string name, string help, Action<string> set, bool isBool = false) => Add(name, help, isBool, set, "");

    private void Add(string name, string help, bool isBool, Action<string> set, string defaultText)
    {
        _flags[name] = new Flag(name, help, isBool, set, defaultText);
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
            Given.Add(name);
        }
        Args = args.Skip(i).ToArray();
    }

    /// <summary>The usage text followed by every flag with its help.</summary>
    public string Help()
    {
        var w = new StringWriter();
        w.WriteLine(Usage.TrimEnd());
        if (_order.Count == 0) return w.ToString();
        w.WriteLine();
        w.WriteLine("Command Options:");
        foreach (var name in _order.Order(StringComparer.Ordinal))
        {
            var f = _flags[name];
            w.WriteLine();
            w.WriteLine(f.IsBool || f.DefaultText.Length == 0 ? $"  -{name}" : $"  -{name}=<value>");
            w.WriteLine($"     {f.Help}");
        }
        return w.ToString();
    }

    private static bool ParseBool(string name, string v) => v.ToLowerInvariant() switch
    {
        "1" or "t" or "true" => true,
        "0" or "f" or "false" => false,
        _ => throw new FlagException($"invalid boolean value \"{v}\" for -{name}: parse error"),
    };

    private sealed record Flag(string Name, string Help, bool IsBool, Action<string> Set, string DefaultText);
}

/// <summary>A command line that cannot be parsed; the message is printed with the usage and the exit code is 1.</summary>
internal sealed class FlagException(string message) : Exception(message);

/// <summary><c>-h</c> or <c>-help</c> was given.</summary>
internal sealed class HelpRequestedException() : Exception("help requested");
