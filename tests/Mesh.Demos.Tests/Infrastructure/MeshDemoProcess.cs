using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Mesh.Demos.Tests.Infrastructure;

/// <summary>
/// A <c>mesh-demo</c> child process (<c>dotnet mesh-demo.dll &lt;args&gt;</c>): started, waited for until it logs
/// <c>listening on http://...</c>, killed with its process tree on dispose. Its output is kept for failure messages.
/// </summary>
internal sealed partial class MeshDemoProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private MeshDemoProcess(Process process) => _process = process;

    /// <summary>Where the service listens, from its log line.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>What it printed on stdout so far.</summary>
    public string Stdout
    {
        get
        {
            lock (_stdout) return _stdout.ToString();
        }
    }

    /// <summary>What it printed on stderr so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr) return _stderr.ToString();
        }
    }

    [GeneratedRegex(@"listening on (http://\S+)")]
    private static partial Regex ListeningLine();

    /// <summary>Starts <c>mesh-demo</c> with <paramref name="args"/> and waits until it listens.</summary>
    public static async Task<MeshDemoProcess> StartAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var demo = Launch(args, environment);
        try
        {
            demo.BaseAddress = await demo._listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            return demo;
        }
        catch (Exception e)
        {
            await demo.DisposeAsync();
            throw new InvalidOperationException($"mesh-demo {string.Join(' ', args)} did not start: {e.Message}\n{demo.Stdout}\n{demo.Stderr}", e);
        }
    }

    /// <summary>Runs <c>mesh-demo</c> with <paramref name="args"/> to its end (for commands that must refuse to start).</summary>
    public static async Task<CommandResult> RunToExitAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        await using var demo = Launch(args, environment);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await demo._process.WaitForExitAsync(deadline.Token);
        demo._process.WaitForExit();
        return new CommandResult(demo._process.ExitCode, demo.Stdout, demo.Stderr);
    }

    /// <summary>Sends SIGTERM and returns the exit code once the process has ended.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (Kill(_process.Id, SigTerm) != 0) throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastWin32Error()}");
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
    }

    private static MeshDemoProcess Launch(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo(DemoPaths.Dotnet())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(DemoPaths.MeshDemoDll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // Only what a test passes: PORT or OTEL_* from the test host's own environment must not leak in.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal) || k is "PORT" or "COUNTING_SERVICE_URL" or "API_URL").ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var demo = new MeshDemoProcess(process);
        process.OutputDataReceived += (_, e) => demo.OnLine(e.Data, demo._stdout);
        process.ErrorDataReceived += (_, e) => demo.OnLine(e.Data, demo._stderr);
        process.Exited += (_, _) => demo._listening.TrySetException(new InvalidOperationException("the process exited"));
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return demo;
    }

    private void OnLine(string? line, StringBuilder into)
    {
        if (line is null) return;
        lock (into) into.Append(line).Append('\n');
        if (ListeningLine().Match(line) is { Success: true } match) _listening.TrySetResult(new Uri(match.Groups[1].Value));
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
