using System.Runtime.InteropServices;

namespace Mesh.Tracing;

/// <summary>
/// Puts the thread that serializes and sends span batches behind the threads that serve requests. An export is a
/// burst of CPU (hundreds of spans encoded, then a POST) that arrives every few hundred milliseconds; at normal
/// priority it competes with the data path on equal terms, and the requests that land during it wait. At nice
/// <see cref="Nice"/> the scheduler runs a request thread that wakes up ahead of it, and the export still gets the CPU
/// the data path leaves idle. Linux only; elsewhere, and wherever the call is refused, nothing changes.
/// </summary>
internal static partial class ExportThreadPriority
{
    /// <summary>The nice value export threads run at (0 is the default, 19 the lowest priority).</summary>
    public const int Nice = 10;

    private const int PriorityProcess = 0;

    [ThreadStatic]
    private static bool t_lowered;

    /// <summary>
    /// Lowers the calling thread's priority, once, when it is a batch processor's dedicated export thread. A thread
    /// shared with other work (a thread-pool thread running a flush, or the thread disposing the provider) is left
    /// alone: an unprivileged process cannot raise a priority again, and those threads go on to serve requests.
    /// </summary>
    public static void LowerForExportThread()
    {
        if (t_lowered) return;
        t_lowered = true;
        var thread = Thread.CurrentThread;
        if (!OperatingSystem.IsLinux() || thread.IsThreadPoolThread || thread.Name?.StartsWith("OpenTelemetry-", StringComparison.Ordinal) != true) return;
        // On Linux a thread is a task with its own nice value, addressed by its thread id.
        _ = SetPriority(PriorityProcess, GetThreadId(), Nice);
    }

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, uint who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial uint GetThreadId();
}
