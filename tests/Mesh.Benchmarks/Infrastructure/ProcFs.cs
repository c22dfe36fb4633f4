using System.Globalization;

namespace Mesh.Benchmarks.Infrastructure;

/// <summary>
/// The few <c>/proc</c> facts the benchmark reports. Read straight from the kernel rather than through
/// <see cref="System.Diagnostics.Process"/>, whose cached snapshots would need a <c>Refresh()</c> at every sample and
/// whose <c>WorkingSet64</c> is not documented to be VmRSS on every runtime.
/// </summary>
internal static class ProcFs
{
    /// <summary>
    /// Clock ticks per second of the times in <c>/proc/[pid]/stat</c>. This is USER_HZ, which is part of Linux's
    /// user-space ABI and fixed at 100 on every architecture .NET runs on, so no <c>sysconf</c> call is needed.
    /// </summary>
    public const int UserHz = 100;

    /// <summary>The 1, 5 and 15 minute load averages, as the kernel prints them.</summary>
    public static string LoadAverage()
    {
        var fields = ReadOrEmpty("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 3 ? $"{fields[0]} {fields[1]} {fields[2]}" : "unknown";
    }

    /// <summary>The first <c>model name</c> of <c>/proc/cpuinfo</c> (absent on some ARM kernels).</summary>
    public static string CpuModel()
    {
        foreach (var line in ReadOrEmpty("/proc/cpuinfo").Split('\n'))
        {
            if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is var colon and > 0)
                return line[(colon + 1)..].Trim();
        }
        return "unknown";
    }

    /// <summary>Total memory from <c>/proc/meminfo</c>, in bytes; 0 when unknown.</summary>
    public static long MemTotalBytes() => NumberField(ReadOrEmpty("/proc/meminfo"), "MemTotal:") * 1024;

    /// <summary>Resident set size (VmRSS) of a process in bytes, or 0 when it has gone.</summary>
    public static long RssBytes(int pid) => NumberField(ReadOrEmpty($"/proc/{pid}/status"), "VmRSS:") * 1024;

    /// <summary>The number of threads of a process (<c>Threads:</c> in its status), or 0 when it has gone.</summary>
    public static int Threads(int pid) => (int)NumberField(ReadOrEmpty($"/proc/{pid}/status"), "Threads:");

    /// <summary>User plus system CPU time a process has used so far, in <see cref="UserHz"/> ticks.</summary>
    public static long CpuTicks(int pid)
    {
        // The command name (field 2) is parenthesised and may contain spaces, so count fields after its closing ')'.
        var stat = ReadOrEmpty($"/proc/{pid}/stat");
        var close = stat.LastIndexOf(')');
        if (close < 0) return 0;
        var fields = stat[(close + 2)..].Split(' ');
        // After the name: state(3) ppid(4) ... utime is field 14 and stime field 15 of the full line.
        return long.Parse(fields[14 - 3], CultureInfo.InvariantCulture) + long.Parse(fields[15 - 3], CultureInfo.InvariantCulture);
    }

    /// <summary>Soft and hard "Max open files" of a process ("self" for this one); -1 for "unlimited" or unknown.</summary>
    public static (long Soft, long Hard) OpenFileLimits(string pid = "self")
    {
        foreach (var line in ReadOrEmpty($"/proc/{pid}/limits").Split('\n'))
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
            var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (ParseLimit(fields[0]), ParseLimit(fields[1]));
        }
        return (-1, -1);

        static long ParseLimit(string s) => long.TryParse(s, CultureInfo.InvariantCulture, out var v) ? v : -1;
    }

    /// <summary>The first number after <paramref name="name"/> on its line (kB for memory fields, a count for Threads).</summary>
    private static long NumberField(string text, string name)
    {
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal)) continue;
            var value = line[name.Length..].Trim().Split(' ')[0];
            return long.TryParse(value, CultureInfo.InvariantCulture, out var kb) ? kb : 0;
        }
        return 0;
    }

    private static string ReadOrEmpty(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
