using System.Globalization;

namespace Mesh.Demos.Hosting;

/// <summary>A flag or environment variable that cannot be used; the command prints it with its usage and exits 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Go-style flags for one subcommand, as Mesh's own CLI takes them: <c>-name value</c>, <c>-name=value</c>, and the
/// same with two dashes. A flag may name an environment variable that supplies its value when the flag is not given
/// (the demos' containers and scripts set <c>PORT</c>, <c>COUNTING_SERVICE_URL</c>, <c>API_URL</c>).
/// </summary>
internal sealed class FlagSet(string command, string summary)
{
    private readonly List<Flag> _flags = [];

    /// <summary>Adds a flag whose value <paramref name="apply"/> checks and stores; it throws <see cref="UsageException"/> on a bad value.</summary>
    public void Add(string name, string help, string? defaultText, Action<string> apply, string? environment = null) =>
        _flags.Add(new Flag(name, help, defaultText, environment, apply));

    /// <summary>Adds a TCP port flag (0 lets the system pick one, which the service then logs).</summary>
    public void AddPort(string name, string help, int defaultPort, Action<int> apply, string? environment = null) =>
        Add(name, help, defaultPort.ToString(CultureInfo.InvariantCulture), value => apply(ParsePort(name, value)), environment);

    /// <summary>Applies the environment variables, then <paramref name="args"/> (flags win).</summary>
    /// <exception cref="UsageException">An unknown flag, a missing or bad value, or a positional argument.</exception>
    public void Parse(IReadOnlyList<string> args, Func<string, string?> getenv)
    {
        foreach (var flag in _flags)
        {
            if (flag.Environment is { } variable && getenv(variable) is { Length: > 0 } value)
            {
                Apply(flag, value.Trim(), $"{variable} (environment)");
            }
        }

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-') || arg is "-" or "--")
            {
                throw new UsageException($"unexpected argument \"{arg}\"");
            }

            var text = arg.TrimStart('-');
            string? value = null;
            if (text.IndexOf('=', StringComparison.Ordinal) is var equals and >= 0)
            {
                value = text[(equals + 1)..];
                text = text[..equals];
            }

            var flag = _flags.Find(f => f.Name == text) ?? throw new UsageException($"flag provided but not defined: -{text}");
            if (value is null)
            {
                if (i + 1 >= args.Count) throw new UsageException($"flag needs an argument: -{text}");
                value = args[++i];
            }

            Apply(flag, value, "-" + flag.Name);
        }
    }

    /// <summary>Writes the usage: the command line, its summary and every flag with its default and variable.</summary>
    public void WriteUsage(TextWriter writer)
    {
        writer.WriteLine($"Usage: mesh-demo {command} [flags]");
        writer.WriteLine();
        writer.WriteLine(summary);
        writer.WriteLine();
        writer.WriteLine("Flags:");
        foreach (var flag in _flags)
        {
            writer.WriteLine($"  -{flag.Name}");
            var details = new List<string>();
            if (flag.DefaultText is { } defaultText) details.Add($"default {defaultText}");
            if (flag.Environment is { } variable) details.Add($"env {variable}");
            writer.WriteLine($"        {flag.Help}{(details.Count > 0 ? $" ({string.Join("; ", details)})" : "")}");
        }
    }

    /// <summary>Parses a port number, 0 to 65535.</summary>
    /// <exception cref="UsageException">Not a port.</exception>
    public static int ParsePort(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
            ? port
            : throw new UsageException($"-{name}: \"{value}\" is not a port number (0 to 65535)");

    /// <summary>Parses an absolute http or https URL.</summary>
    /// <exception cref="UsageException">Not such a URL.</exception>
    public static Uri ParseHttpUrl(string name, string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new UsageException($"-{name}: \"{value}\" is not an absolute http:// or https:// URL");

    private static void Apply(Flag flag, string value, string source)
    {
        try
        {
            flag.Apply(value);
        }
        catch (UsageException e) when (!source.StartsWith('-'))
        {
            // The message names the flag; say where the value really came from.
            throw new UsageException($"{source}: {e.Message}");
        }
    }

    private sealed record Flag(string Name, string Help, string? DefaultText, string? Environment, Action<string> Apply);
}
