using System.Globalization;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks;

/// <summary>Command-line options: <c>[scenario...] [--duration 10s] [--warmup 2s] [--watchers 10000] [--rounds 3]</c>.</summary>
internal sealed record BenchOptions(
    IReadOnlyList<string> Scenarios,
    TimeSpan Duration,
    TimeSpan Warmup,
    int Watchers,
    int Rounds,
    int Streams = 10_000)
{
    public static readonly string[] AllScenarios = ["kv-get", "kv-put", "fanout", "catalog-register", "health-service", "agent-checks", "dns", "connect-ca", "discovery-chain", "intentions", "xds", "sidecar"];

    public const string Usage = """
        usage: dotnet run -c Release --project tests/Mesh.Benchmarks -- [scenario...] [options]

        scenarios (default: all, in this order): kv-get kv-put fanout catalog-register health-service agent-checks dns connect-ca discovery-chain intentions xds sidecar
          --duration <time>   measured time of each wrk run (default 10s; wrk takes whole seconds); sidecar's
                              constant-rate latency run lasts twice as long
          --warmup <time>     discarded wrk run before each measurement (default 2s; 0 to skip)
          --watchers <n>      blocking queries parked on one key in fanout (default 10000)
          --rounds <n>        fanout rounds, each re-arming every watcher (default 3)
          --streams <n>       concurrent ADS streams (distinct proxies) in xds (default 10000)
          -h, --help          this text
        """;

    /// <summary>Parses <paramref name="args"/>; null means help was asked for.</summary>
    public static BenchOptions? Parse(string[] args)
    {
        var scenarios = new List<string>();
        var duration = TimeSpan.FromSeconds(10);
        var warmup = TimeSpan.FromSeconds(2);
        var watchers = 10_000;
        var rounds = 3;
        var streams = 10_000;

        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "-h" or "--help": return null;
                case "--duration": duration = ParseTime(arg, Next(ref i)); break;
                case "--warmup": warmup = ParseTime(arg, Next(ref i)); break;
                case "--watchers": watchers = ParsePositive(arg, Next(ref i)); break;
                case "--rounds": rounds = ParsePositive(arg, Next(ref i)); break;
                case "--streams": streams = ParsePositive(arg, Next(ref i)); break;
                default:
                    if (arg.StartsWith('-')) throw new BenchmarkSetupException($"unknown option {arg}\n\n{Usage}");
                    if (!AllScenarios.Contains(arg)) throw new BenchmarkSetupException($"unknown scenario {arg}; known: {string.Join(' ', AllScenarios)}");
                    if (!scenarios.Contains(arg)) scenarios.Add(arg);
                    break;
            }
        }

        if (duration < TimeSpan.FromSeconds(1)) throw new BenchmarkSetupException("--duration must be at least 1s");
        // Keep the documented order whatever order they were named in, so reports are comparable run to run.
        var ordered = scenarios.Count == 0 ? AllScenarios : AllScenarios.Where(scenarios.Contains).ToArray();
        return new BenchOptions(ordered, duration, warmup, watchers, rounds, streams);

        string Next(ref int i) =>
            ++i < args.Length ? args[i] : throw new BenchmarkSetupException($"{args[i - 1]} needs a value");
    }

    /// <summary>Parses <c>10s</c>, <c>500ms</c>, <c>2m</c> or a bare number of seconds.</summary>
    internal static TimeSpan ParseTime(string option, string text)
    {
        (string digits, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1),
            _ when text.EndsWith('m') => (text[..^1], 60),
            _ => (text, 1),
        };
        if (!double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0)
            throw new BenchmarkSetupException($"{option}: cannot read '{text}' as a duration (e.g. 10s, 500ms, 1m)");
        return TimeSpan.FromSeconds(value * scale);
    }

    private static int ParsePositive(string option, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new BenchmarkSetupException($"{option}: '{text}' is not a positive integer");
}
