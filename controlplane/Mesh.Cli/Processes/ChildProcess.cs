using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Mesh.Cli.Processes;

/// <summary>
/// A child command run by <c>lock</c> and <c>watch</c>: through <c>$SHELL -c</c> (default <c>/bin/sh</c>) or
/// directly, with its stdout and stderr copied to the context's writers (so tests can run in-process) and stdin
/// either fed from given bytes, passed through, or closed (Consul gives children no stdin by default).
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;

    private ChildProcess(Process process, Task<int> exited, Task<int> completed)
    {
        _process = process;
        Exited = exited;
        Completed = completed;
    }

    /// <summary>The child's process ID.</summary>
    public int Pid => _process.Id;

    /// <summary>Completes with the exit code as soon as the child process has exited.</summary>
    public Task<int> Exited { get; }

    /// <summary>
    /// Completes with the exit code once the child has exited and its output has been copied (or, if a grandchild
    /// keeps the pipes open, shortly after the exit).
    /// </summary>
    public Task<int> Completed { get; }

    /// <summary>Starts the child.</summary>
    /// <param name="ctx">Supplies <c>SHELL</c>, the writers the output goes to and, with <paramref name="passStdin"/>, the input.</param>
    /// <param name="shell">Run through the shell rather than directly.</param>
    /// <param name="args">The command; with <paramref name="shell"/> joined by spaces into one script, as Consul does.</param>
    /// <param name="environment">Variables added to this process's environment for the child.</param>
    /// <param name="stdinData">Bytes written to the child's stdin, which is then closed (watch handlers get JSON).</param>
    /// <param name="passStdin">Copy <see cref="CliContext.In"/> to the child's stdin instead.</param>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static ChildProcess Start(CliContext ctx, IReadOnlyList<string> args, bool shell,
        IReadOnlyDictionary<string, string> environment, byte[]? stdinData = null, bool passStdin = false)
    {
        var psi = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        if (shell)
        {
            if (OperatingSystem.IsWindows())
            {
                psi.FileName = "cmd";
                psi.ArgumentList.Add("/C");
            }
            else
            {
                var sh = ctx.GetEnv("SHELL");
                psi.FileName = string.IsNullOrEmpty(sh) ? "/bin/sh" : sh;
                psi.ArgumentList.Add("-c");
            }
            psi.ArgumentList.Add(string.Join(' ', args));
        }
        else
        {
            psi.FileName = args[0];
            foreach (var a in args.Skip(1)) psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in environment) psi.Environment[k] = v;

        var process = Process.Start(psi) ?? throw new Win32Exception("process did not start");
        var stdout = PumpAsync(process.StandardOutput, ctx.Out);
        var stderr = PumpAsync(process.StandardError, ctx.Err);
        _ = FeedStdinAsync(process, ctx, stdinData, passStdin);
        var exited = ExitCodeAsync(process);
        return new ChildProcess(process, exited, DrainAsync(exited, stdout, stderr));
    }

    /// <summary>
    /// Sends SIGTERM to the child and its descendants, so a shell's children get it too (a shell running a
    /// compound script would otherwise die alone and leave them running). On Windows: a hard kill.
    /// </summary>
    public void Terminate()
    {
        if (OperatingSystem.IsWindows())
        {
            Kill();
            return;
        }
        foreach (var pid in DescendantsOf(_process.Id).Prepend(_process.Id))
            _ = SysKill(pid, SigTerm);
    }

    /// <summary>Kills the child and everything it started.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public void Dispose() => _process.Dispose();

    private static async Task<int> ExitCodeAsync(Process process)
    {
        await process.WaitForExitAsync().ConfigureAwait(false);
        return process.ExitCode;
    }

    private static async Task<int> DrainAsync(Task<int> exited, Task stdout, Task stderr)
    {
        var code = await exited.ConfigureAwait(false);
        // A grandchild that outlives the child keeps the pipes open; do not hang on it.
        await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        return code;
    }

    private static async Task PumpAsync(StreamReader from, TextWriter to)
    {
        var buffer = new char[4096];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                to.Write(buffer, 0, n);
                to.Flush();
            }
        }
        catch (IOException)
        {
            // The pipe broke; the child is gone.
        }
    }

    private static async Task FeedStdinAsync(Process process, CliContext ctx, byte[]? data, bool passStdin)
    {
        var stdin = process.StandardInput;
        try
        {
            if (data is not null)
            {
                await stdin.BaseStream.WriteAsync(data).ConfigureAwait(false);
            }
            else if (passStdin)
            {
                var buffer = new char[4096];
                int n;
                while ((n = await ctx.In.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                {
                    await stdin.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                    await stdin.FlushAsync().ConfigureAwait(false);
                }
            }
        }
        catch (IOException)
        {
            // The child closed its stdin or exited without reading it all; that is its business.
        }
        finally
        {
            try { stdin.Close(); } catch (IOException) { }
        }
    }

    /// <summary>Descendants of <paramref name="root"/> from /proc (Linux); empty where /proc is unavailable.</summary>
    private static List<int> DescendantsOf(int root)
    {
        var parents = new Dictionary<int, List<int>>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
                string stat;
                try { stat = File.ReadAllText(Path.Combine(dir, "stat"), Encoding.ASCII); }
                catch (IOException) { continue; }
                catch (UnauthorizedAccessException) { continue; }
                // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so parse after the last ')'.
                var close = stat.LastIndexOf(')');
                if (close < 0) continue;
                var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 2 || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid)) continue;
                if (!parents.TryGetValue(ppid, out var children)) parents[ppid] = children = [];
                children.Add(pid);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var p))
        {
            if (!parents.TryGetValue(p, out var children)) continue;
            foreach (var c in children)
            {
                result.Add(c);
                queue.Enqueue(c);
            }
        }
        return result;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}
