using System.Diagnostics;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>Finds the external programs the sidecar scenario drives. None is installed by CI: they are benchmark-only.</summary>
internal static class Tools
{
    /// <summary>The full path of <paramref name="name"/> on PATH or in the sbin directories (haproxy and nginx live
    /// in /usr/sbin, which is not on a non-root PATH); null when it is not installed.</summary>
    public static string? Find(string name)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var dir in path.Concat(["/usr/sbin", "/usr/local/sbin", "/sbin"]))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Like <see cref="Find"/>, but a missing program is a setup error that says how to install it.</summary>
    public static string Require(string name, string package) =>
        Find(name) ?? throw new BenchmarkSetupException(
            $"{name} is not installed; the sidecar scenario needs it. Install it with `sudo apt-get install {package}` (it is a benchmark-only " +
            "tool, not installed by CI), then run again.");

    /// <summary>The first line a program prints on either stream for <paramref name="arguments"/> (a version line).</summary>
    public static string FirstLine(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new BenchmarkSetupException($"could not run {program}");
        var stderr = process.StandardError.ReadToEndAsync();
        var text = process.StandardOutput.ReadToEnd() + stderr.Result;
        process.WaitForExit();
        return text.Split('\n', 2)[0].Trim();
    }
}
