using System.Diagnostics;
using System.Text;

namespace Mesh.Agent.Tests.Fixtures;

/// <summary>What a finished (or timed-out) child process did.</summary>
public sealed record ChildProcessResult(int ExitCode, bool TimedOut, TimeSpan Elapsed, string Output)
{
    /// <summary>A one-paragraph description for assertion messages.</summary>
    public string Describe(string what) =>
        TimedOut
            ? $"{what} timed out after {Elapsed.TotalSeconds:0.0}s and was killed\n--- output ---\n{Output}"
            : $"{what} exited with {ExitCode} after {Elapsed.TotalSeconds:0.0}s\n--- output ---\n{Output}";
}

/// <summary>Runs a short-lived child process (an interop script) with a timeout, capturing stdout and stderr.</summary>
public static class ChildProcess
{
    /// <summary>Runs <paramref name="fileName"/> to completion or until <paramref name="timeout"/>, then kills its tree.</summary>
    public static async Task<ChildProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string> environment,
        string workingDirectory,
        TimeSpan timeout,
        CancellationToken cancellation = default)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in arguments)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var output = new StringBuilder();
        var gate = new Lock();
        void Append(string? line, string tag)
        {
            if (line is null)
            {
                return;
            }

            lock (gate)
            {
                output.Append(tag).AppendLine(line);
            }
        }

        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data, "");
        process.ErrorDataReceived += (_, e) => Append(e.Data, "[stderr] ");
        var clock = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited in between
            }

            using var reap = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(reap.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // killed; its pipes may linger a moment
            }
        }

        clock.Stop();
        string text;
        lock (gate)
        {
            text = output.ToString();
        }

        return new ChildProcessResult(timedOut ? -1 : process.ExitCode, timedOut, clock.Elapsed, text);
    }
}
