using System.Runtime.InteropServices;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks;

/// <summary>
/// The conditions a figure was measured under. Printed with every run because the same code gives very different
/// numbers on a busy laptop and an idle server; the load average before and after shows whether anything else ran.
/// </summary>
internal sealed record MachineConditions(
    int Cores,
    string CpuModel,
    long MemoryBytes,
    string Runtime,
    string Os,
    string WrkVersion,
    string OpenFiles,
    string LoadBefore)
{
    public string LoadAfter { get; set; } = "";

    public static MachineConditions Capture(string wrkVersion)
    {
        var (soft, hard) = ProcFs.OpenFileLimits();
        return new(
            Environment.ProcessorCount,
            ProcFs.CpuModel(),
            ProcFs.MemTotalBytes(),
            RuntimeInformation.FrameworkDescription,
            RuntimeInformation.OSDescription,
            wrkVersion,
            $"{Show(soft)} soft / {Show(hard)} hard",
            ProcFs.LoadAverage());

        static string Show(long limit) => limit < 0 ? "unlimited" : limit.ToString();
    }

    public void Write(TextWriter output)
    {
        output.WriteLine($"cores          {Cores} (Environment.ProcessorCount; wrk, the watcher client and the agent share them)");
        output.WriteLine($"cpu            {CpuModel}");
        output.WriteLine($"memory         {MemoryBytes / (1024 * 1024):#,0} MB");
        output.WriteLine($"runtime        {Runtime}, {Os}");
        output.WriteLine($"wrk            {WrkVersion}");
        output.WriteLine($"open files     {OpenFiles}");
        output.WriteLine($"load before    {LoadBefore}");
    }
}
