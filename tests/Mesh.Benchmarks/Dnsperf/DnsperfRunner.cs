using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Dnsperf;

/// <summary>What one dnsperf run measured. Latency percentiles come from its per-query lines (<c>-v</c>), when asked for.</summary>
internal sealed record DnsperfResult(double QueriesPerSecond, long Sent, long Completed, long Lost, double AverageMs,
    double P50Ms, double P99Ms, double MaxMs, IReadOnlyDictionary<string, long> Rcodes);

/// <summary>
/// Drives dnsperf (DNS-OARC's load generator, C): UDP queries read from a file in a loop, many outstanding at once.
/// Like wrk for HTTP, it costs far less CPU per query than a .NET client would, which matters on a machine whose cores
/// it shares with the agent.
/// </summary>
internal static partial class DnsperfRunner
{
    /// <summary>Full path of dnsperf on PATH.</summary>
    public static string Locate()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "dnsperf");
            if (File.Exists(candidate)) return candidate;
        }
        throw new BenchmarkSetupException("dnsperf is not installed (it generates the dns load). Install it with `apt-get install dnsperf` or `tests/setup.sh`.");
    }

    /// <summary>dnsperf's version, e.g. "2.10.0".</summary>
    public static string Version(string dnsperf)
    {
        var info = new ProcessStartInfo(dnsperf, "-h") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return VersionLine().Match(text) is { Success: true } m ? m.Groups[1].Value : "unknown";
    }

    /// <summary>
    /// Runs dnsperf against <paramref name="server"/> for <paramref name="duration"/> with <paramref name="clients"/>
    /// sockets and up to <paramref name="outstanding"/> queries in flight; <paramref name="maxQps"/> caps the send rate
    /// (0: as fast as answers come back). With <paramref name="perQueryLatency"/> every answer's latency is read from the
    /// verbose output to compute percentiles.
    /// </summary>
    public static async Task<DnsperfResult> RunAsync(string dnsperf, IPEndPoint server, string queryFile, TimeSpan duration, int clients,
        int outstanding, int maxQps, bool perQueryLatency, CancellationToken cancellation)
    {
        var info = new ProcessStartInfo(dnsperf) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var args = new List<string>
        {
            "-s", server.Address.ToString(), "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-d", queryFile,
            "-l", Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
            "-c", clients.ToString(CultureInfo.InvariantCulture), "-q", outstanding.ToString(CultureInfo.InvariantCulture),
            "-t", "2",
        };
        if (maxQps > 0) args.AddRange(["-Q", maxQps.ToString(CultureInfo.InvariantCulture)]);
        if (perQueryLatency) args.Add("-v");
        foreach (var a in args) info.ArgumentList.Add(a);

        using var process = Process.Start(info) ?? throw new BenchmarkSetupException("could not start dnsperf");
        var latencies = new List<double>(perQueryLatency ? 1 << 20 : 0);
        var summary = new List<string>();
        var stderr = process.StandardError.ReadToEndAsync(cancellation);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(cancellation) is { } line)
            {
                // "> NOERROR name type 0.000123" per answered query (timeouts print "[Timeout]" lines instead).
                if (line.StartsWith("> ", StringComparison.Ordinal))
                {
                    var space = line.LastIndexOf(' ');
                    if (double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
                        latencies.Add(seconds * 1000);
                }
                else summary.Add(line);
            }
            await process.WaitForExitAsync(cancellation);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        var text = string.Join('\n', summary);
        if (process.ExitCode != 0) throw new BenchmarkSetupException($"dnsperf exited with {process.ExitCode}: {await stderr}\n{text}");

        long Count(Regex r) => r.Match(text) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
        double Number(Regex r) => r.Match(text) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
        var rcodes = RcodeLine().Match(text) is { Success: true } rc
            ? RcodeEntry().Matches(rc.Groups[1].Value).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))
            : new Dictionary<string, long>();
        latencies.Sort();
        double Percentile(double p) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];
        return new DnsperfResult(Number(Qps()), Count(Sent()), Count(Completed()), Count(Lost()), Number(AverageLatency()) * 1000,
            Percentile(0.50), Percentile(0.99), latencies.Count == 0 ? double.NaN : latencies[^1], rcodes);
    }

    [GeneratedRegex(@"Version (\S+)")]
    private static partial Regex VersionLine();

    [GeneratedRegex(@"Queries sent:\s+(\d+)")]
    private static partial Regex Sent();

    [GeneratedRegex(@"Queries completed:\s+(\d+)")]
    private static partial Regex Completed();

    [GeneratedRegex(@"Queries lost:\s+(\d+)")]
    private static partial Regex Lost();

    [GeneratedRegex(@"Queries per second:\s+([\d.]+)")]
    private static partial Regex Qps();

    [GeneratedRegex(@"Average Latency \(s\):\s+([\d.]+)")]
    private static partial Regex AverageLatency();

    [GeneratedRegex(@"Response codes:\s+(.+)")]
    private static partial Regex RcodeLine();

    [GeneratedRegex(@"([A-Z]+) (\d+) \(")]
    private static partial Regex RcodeEntry();
}
