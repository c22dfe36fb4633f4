using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Mesh.Tests.Shared;

/// <summary>What one openssl run printed (stdout and stderr interleaved) and how it ended.</summary>
internal sealed record OpensslRun(int ExitCode, string Output);

/// <summary>Runs the openssl command line, the independent judge of the certificates Mesh makes.</summary>
internal static class Openssl
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <c>openssl</c> with <paramref name="args"/> in <paramref name="dir"/>, stdin at end of file.</summary>
    public static async Task<OpensslRun> RunAsync(string dir, params string[] args)
    {
        using var process = OpensslProcess.Start(dir, args);
        process.Process.StandardInput.Close();
        return await process.WaitAsync(Timeout);
    }

    /// <summary>Runs openssl and fails the test unless it exits 0; returns what it printed.</summary>
    public static async Task<string> OkAsync(string dir, params string[] args)
    {
        var run = await RunAsync(dir, args);
        Assert.True(run.ExitCode == 0, $"openssl {string.Join(' ', args)} exited with {run.ExitCode}:\n{run.Output}");
        return run.Output;
    }
}

/// <summary>
/// A running <c>openssl s_server</c> on a loopback port the kernel picked: ready once it prints
/// <c>ACCEPT 127.0.0.1:&lt;port&gt;</c>. Its stdin stays open, because s_server ends a connection as soon as its stdin
/// reaches end of file; with <c>-naccept 1</c> it exits after one client.
/// </summary>
internal sealed partial class OpensslServer : IDisposable
{
    private readonly OpensslProcess _process;

    private OpensslServer(OpensslProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The port it accepts on, at 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Starts <c>openssl s_server -accept 127.0.0.1:0 -naccept 1</c> with <paramref name="args"/> and waits until it listens.</summary>
    public static async Task<OpensslServer> StartAsync(string dir, params string[] args)
    {
        var process = OpensslProcess.Start(dir, ["s_server", "-accept", "127.0.0.1:0", "-naccept", "1", .. args]);
        try
        {
            var line = await process.WaitForLineAsync(l => AcceptLine().IsMatch(l), TimeSpan.FromSeconds(30));
            return new OpensslServer(process, int.Parse(AcceptLine().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the server to finish its one connection and exit; returns all it printed.</summary>
    public Task<OpensslRun> WaitAsync() => _process.WaitAsync(TimeSpan.FromSeconds(30));

    public void Dispose() => _process.Dispose();

    [GeneratedRegex(@"^ACCEPT 127\.0\.0\.1:(\d+)$")]
    private static partial Regex AcceptLine();
}

/// <summary>An openssl child process whose output lines are collected as they come.</summary>
internal sealed class OpensslProcess : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    private OpensslProcess(Process process) => Process = process;

    public Process Process { get; }

    public static OpensslProcess Start(string dir, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo("openssl")
        {
            WorkingDirectory = dir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        var process = new OpensslProcess(new Process { StartInfo = info });
        process.Process.OutputDataReceived += (_, e) => process.Append(e.Data);
        process.Process.ErrorDataReceived += (_, e) => process.Append(e.Data);
        process.Process.Start();
        process.Process.BeginOutputReadLine();
        process.Process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Waits for a line that <paramref name="match"/> accepts, whether it came already or comes later.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            var seen = _output.ToString().Split('\n').FirstOrDefault(match);
            if (seen is not null) return seen;
            _waiters.Add((match, found));
        }
        var exited = Process.WaitForExitAsync();
        var done = await Task.WhenAny(found.Task, exited, Task.Delay(timeout));
        if (done == found.Task) return await found.Task;
        lock (_output) throw new TimeoutException($"openssl never printed the line awaited ({(done == exited ? "it exited" : "timed out")}):\n{_output}");
    }

    /// <summary>Waits for the process to exit (killing it after <paramref name="timeout"/>) and returns its output.</summary>
    public async Task<OpensslRun> WaitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync();
            lock (_output) throw new TimeoutException($"openssl did not exit within {timeout.TotalSeconds:0}s:\n{_output}");
        }
        // The parameterless wait also drains the redirected output, so nothing printed last is lost.
        await Process.WaitForExitAsync();
        lock (_output) return new OpensslRun(Process.ExitCode, _output.ToString());
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Append(line).Append('\n');
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (!_waiters[i].Match(line)) continue;
                _waiters[i].Found.TrySetResult(line);
                _waiters.RemoveAt(i);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited in between.
        }
        Process.Dispose();
    }
}
