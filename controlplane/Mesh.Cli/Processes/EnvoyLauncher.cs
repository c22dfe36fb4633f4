using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Mesh.Cli.Processes;

/// <summary>Starts Envoy once <c>connect envoy</c> has written its bootstrap; tests replace it.</summary>
internal interface IEnvoyLauncher
{
    /// <summary>
    /// Runs <paramref name="binary"/> with <paramref name="args"/> and returns the exit code to leave with. May
    /// never return: on Linux and macOS the CLI process becomes Envoy.
    /// </summary>
    Task<int> LaunchAsync(CliContext ctx, string binary, IReadOnlyList<string> args);
}

/// <summary>
/// The production launcher. On Linux and macOS it replaces the CLI process with Envoy (<c>execv</c>), as Consul's
/// <c>connect envoy</c> does: Envoy keeps the PID a supervisor (systemd, a container runtime, Nomad) started, and
/// receives its signals and reports its exit status directly, with no CLI in between. Elsewhere (Windows) it starts
/// Envoy as a child sharing the console, waits for it and exits with its code; Ctrl-C reaches both through the
/// console, and if Envoy has not exited 10 s after the CLI was asked to stop, the CLI ends it.
/// </summary>
internal sealed class EnvoyLauncher : IEnvoyLauncher
{
    private const int SigPipe = 13; // the same number on Linux and macOS

    /// <summary>The shared instance.</summary>
    public static EnvoyLauncher Instance { get; } = new();

    /// <inheritdoc />
    public Task<int> LaunchAsync(CliContext ctx, string binary, IReadOnlyList<string> args) =>
        OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? Task.FromResult(Exec(ctx, binary, args)) : RunChildAsync(ctx, binary, args);

    private static int Exec(CliContext ctx, string binary, IReadOnlyList<string> args)
    {
        // Whatever the CLI has buffered must reach the terminal before the process image is replaced.
        ctx.Out.Flush();
        ctx.Err.Flush();
        Console.Out.Flush();
        Console.Error.Flush();

        // execv keeps ignored signals ignored and the calling thread's signal mask; .NET ignores SIGPIPE and may run
        // this on a thread with signals blocked, so Envoy would otherwise start with both. Handlers .NET installed
        // are reset to the defaults by execv itself.
        _ = SysSignal(SigPipe, IntPtr.Zero);
        var emptySet = new byte[128]; // sigset_t is 128 bytes with glibc, 4 on macOS; zeroed means "no signal"
        _ = SysSigprocmask(OperatingSystem.IsMacOS() ? 3 : 2, emptySet, IntPtr.Zero);

        var argv = new string?[args.Count + 2];
        argv[0] = binary;
        for (var i = 0; i < args.Count; i++) argv[i + 1] = args[i];
        argv[^1] = null;
        SysExecv(binary, argv);

        // Only reached when execv failed.
        var error = new Win32Exception(Marshal.GetLastPInvokeError()).Message;
        ctx.Err.WriteLine($"Error executing envoy binary {binary}: {error}");
        return 1;
    }

    private static async Task<int> RunChildAsync(CliContext ctx, string binary, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo(binary) { UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception("process did not start");
        }
        catch (Win32Exception e)
        {
            ctx.Err.WriteLine($"Error executing envoy binary {binary}: {e.Message}");
            return 1;
        }
        using (process)
        {
            try
            {
                await process.WaitForExitAsync(ctx.Cancellation).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            return process.ExitCode;
        }
    }

    [DllImport("libc", EntryPoint = "execv", SetLastError = true)]
    private static extern int SysExecv(string path, string?[] argv);

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static extern IntPtr SysSignal(int signal, IntPtr handler);

    [DllImport("libc", EntryPoint = "sigprocmask", SetLastError = true)]
    private static extern int SysSigprocmask(int how, byte[] set, IntPtr oldSet);
}
