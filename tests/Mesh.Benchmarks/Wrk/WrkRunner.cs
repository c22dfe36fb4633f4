using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Wrk;

/// <summary>What one wrk run measured, parsed from its <c>--latency</c> report.</summary>
internal sealed record WrkResult(double RequestsPerSecond, double P50Ms, double P99Ms, long Requests, long Non2xx, long SocketErrors, string Output);

/// <summary>
/// Drives wrk, the load generator of the KV scenarios. wrk (C, epoll, one event loop per thread) costs far less CPU
/// per request than any .NET client would, which matters because it shares the machine's cores with the agent.
/// </summary>
internal static partial class WrkRunner
{
    /// <summary>Full path of wrk on PATH. There is deliberately no fallback generator: figures from a different tool
    /// would not be comparable with earlier runs.</summary>
    public static string Locate()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "wrk");
            if (File.Exists(candidate)) return candidate;
        }
        throw new BenchmarkSetupException(
            "wrk is not installed (it generates the kv-get and kv-put load). Install it with `sudo apt-get install wrk` " +
            "or `tests/setup.sh`, then run again.");
    }

    /// <summary>wrk's version line, e.g. "wrk debian/4.1.0-3+b2 [epoll]".</summary>
    public static string Version(string wrk)
    {
        // `wrk -v` prints its version and usage, then exits non-zero; only the first line matters.
        var info = new ProcessStartInfo(wrk, "-v") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        var first = text.Split('\n', 2)[0];
        var copyright = first.IndexOf(" Copyright", StringComparison.Ordinal);
        return (copyright > 0 ? first[..copyright] : first).Trim();
    }

    /// <summary>
    /// Runs <c>wrk -t threads -c connections -d duration --latency [-H header]... [-s script] url [-- scriptArgs...]</c>
    /// and parses the report.
    /// </summary>
    public static async Task<WrkResult> RunAsync(
        string wrk, Uri url, int threads, int connections, TimeSpan duration, string? script, CancellationToken cancellation,
        IReadOnlyList<string>? headers = null, IReadOnlyList<string>? scriptArgs = null)
    {
        // wrk reads durations as whole seconds.
        var seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        var info = new ProcessStartInfo(wrk) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture),
                     "-d", $"{seconds}s", "--latency" })
            info.ArgumentList.Add(arg);
        foreach (var header in headers ?? [])
        {
            info.ArgumentList.Add("-H");
            info.ArgumentList.Add(header);
        }
        if (script is not null)
        {
            info.ArgumentList.Add("-s");
            info.ArgumentList.Add(script);
        }
        info.ArgumentList.Add(url.ToString());
        if (scriptArgs is { Count: > 0 })
        {
            // Everything after "--" reaches the script's init(args).
            info.ArgumentList.Add("--");
            foreach (var arg in scriptArgs) info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new BenchmarkSetupException("could not start wrk");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellation);
        var stderr = process.StandardError.ReadToEndAsync(cancellation);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(TimeSpan.FromSeconds(seconds + 30));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        var output = await stdout + await stderr;
        if (process.ExitCode != 0) throw new BenchmarkSetupException($"wrk exited with code {process.ExitCode}:\n{output}");
        return Parse(output);
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline)]
    private static partial Regex Percentile();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestCount();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xx();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();

    /// <summary>Parses wrk's text report; the latency distribution is there because the run used <c>--latency</c>.</summary>
    internal static WrkResult Parse(string output)
    {
        var rps = RequestsPerSecond().Match(output);
        var percentiles = Percentile().Matches(output).ToDictionary(m => m.Groups[1].Value, m => ToMilliseconds(m.Groups[2].Value, m.Groups[3].Value));
        if (!rps.Success || !percentiles.ContainsKey("50") || !percentiles.ContainsKey("99"))
            throw new BenchmarkSetupException($"could not read wrk's report:\n{output}");

        var errors = SocketErrors().Match(output);
        var socketErrors = errors.Success ? Enumerable.Range(1, 4).Sum(g => long.Parse(errors.Groups[g].Value, CultureInfo.InvariantCulture)) : 0;
        var non2xx = Non2xx().Match(output);
        var requests = RequestCount().Match(output);

        return new WrkResult(
            double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture),
            percentiles["50"],
            percentiles["99"],
            requests.Success ? long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            socketErrors,
            output);
    }

    private static double ToMilliseconds(string number, string unit)
    {
        var value = double.Parse(number, CultureInfo.InvariantCulture);
        return unit switch { "us" => value / 1000, "ms" => value, "s" => value * 1000, _ => value * 60_000 };
    }
}
