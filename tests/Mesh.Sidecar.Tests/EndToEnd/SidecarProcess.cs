using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Mesh.Sidecar.Tests.EndToEnd;

/// <summary>
/// A real <c>mesh connect proxy</c> child process: started with <c>dotnet mesh.dll connect proxy ...</c>, ready once it
/// printed its admin address and <c>/ready</c> answers 200 (its listeners are bound from a complete configuration).
/// Killed with its process tree on dispose; its output is kept for failure messages.
/// </summary>
internal sealed partial class SidecarProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _admin = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SidecarProcess(Process process) => _process = process;

    /// <summary>The admin server (<c>/ready</c>, <c>/metrics</c>, <c>/config_dump</c>).</summary>
    public Uri Admin { get; private set; } = null!;

    /// <summary>The child process.</summary>
    public Process Process => _process;

    /// <summary>Everything the proxy printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    [GeneratedRegex(@"admin on (http://\S+)")]
    private static partial Regex AdminLine();

    /// <summary>Starts <c>mesh connect proxy</c> with <paramref name="arguments"/> against <paramref name="agent"/> and waits until ready.</summary>
    /// <param name="agent">The agent the proxy's configuration comes from.</param>
    /// <param name="arguments">Flags after the agent address, admin bind and log level.</param>
    /// <param name="waitReady">Whether to wait for <c>/ready</c> to answer 200.</param>
    /// <param name="environment">Variables set in the proxy's environment (<c>OTEL_*</c>, say).</param>
    public static async Task<SidecarProcess> StartAsync(AgentProcess agent, IEnumerable<string> arguments, bool waitReady = true,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var meshDll = Path.Combine(AppContext.BaseDirectory, "mesh.dll");
        var info = new ProcessStartInfo(AgentProcess.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in (string[])[meshDll, "connect", "proxy", "-http-addr", agent.HostPort, "-admin-bind", "127.0.0.1:0", "-log-level", "debug"])
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var arg in arguments)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var sidecar = new SidecarProcess(process);
        process.OutputDataReceived += (_, e) => sidecar.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => sidecar.OnLine(e.Data);
        process.Exited += (_, _) => sidecar._admin.TrySetException(new InvalidOperationException("the proxy exited"));
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            sidecar.Admin = await sidecar._admin.Task.WaitAsync(TimeSpan.FromSeconds(60));
            if (waitReady)
            {
                await sidecar.WaitReadyAsync(TimeSpan.FromSeconds(60));
            }

            return sidecar;
        }
        catch (Exception ex)
        {
            await sidecar.DisposeAsync();
            throw new InvalidOperationException($"mesh connect proxy did not become ready: {ex.Message}\n--- output ---\n{sidecar.Output}", ex);
        }
    }

    /// <summary>Polls <c>/ready</c> until it answers 200.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = Admin, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("/ready");
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }

            if (DateTime.UtcNow > deadline) throw new TimeoutException($"/ready did not answer 200 within {timeout}");
            if (_process.HasExited) throw new InvalidOperationException($"the proxy exited with {_process.ExitCode}");
            await Task.Delay(50);
        }
    }

    /// <summary>The proxy's Prometheus metrics text.</summary>
    public async Task<string> MetricsAsync()
    {
        using var http = new HttpClient { BaseAddress = Admin };
        return await http.GetStringAsync("/metrics");
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        if (!_admin.Task.IsCompleted && AdminLine().Match(line) is { Success: true } match)
        {
            _admin.TrySetResult(new Uri(match.Groups[1].Value.TrimEnd('/', '.', ',') + "/"));
        }
    }

    /// <summary>Sends SIGTERM and waits for a graceful exit.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        Posix.Kill(_process.Id, Posix.SigTerm);
        await _process.WaitForExitAsync(new CancellationTokenSource(timeout).Token);
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
        }

        _process.Dispose();
    }
}

/// <summary>Signals to child processes.</summary>
internal static class Posix
{
    public const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);
}
