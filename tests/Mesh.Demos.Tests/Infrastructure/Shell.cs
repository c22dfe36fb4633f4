using System.Diagnostics;
using System.Text;

namespace Mesh.Demos.Tests.Infrastructure;

/// <summary>What a finished command printed, and its exit code.</summary>
internal sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>Runs shell command lines as a person would type them, from the repository root.</summary>
internal static class Shell
{
    /// <summary>
    /// Runs <paramref name="command"/> with <c>bash -c</c> and <paramref name="environment"/> added to this process's
    /// environment; on timeout kills its process tree and throws with what it printed so far.
    /// </summary>
    public static async Task<CommandResult> RunAsync(string command, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = DemoPaths.Root,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        foreach (var (name, value) in environment) info.Environment[name] = value;

        using var process = new Process { StartInfo = info };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"`{command}` did not finish within {timeout}\n--- stdout ---\n{Text(stdout)}\n--- stderr ---\n{Text(stderr)}");
        }

        // The asynchronous readers may still hold the last lines; WaitForExit without a timeout drains them.
        process.WaitForExit();
        return new CommandResult(process.ExitCode, Text(stdout), Text(stderr));
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null) return;
        lock (builder) builder.Append(line).Append('\n');
    }

    private static string Text(StringBuilder builder)
    {
        lock (builder) return builder.ToString();
    }
}
