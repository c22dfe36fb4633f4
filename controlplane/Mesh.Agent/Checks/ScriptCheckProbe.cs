using Mesh.State.Text;
using Mesh.State.Tables;
using System.ComponentModel;
using System.Diagnostics;

namespace Mesh.Agent.Checks;

/// <summary>
/// Consul's script check (<c>Args</c>, Nagios plugin conventions): exit 0 is passing, 1 warning, anything else
/// critical; the output is stdout and stderr together, the last 4 KiB kept. A run that outlives the timeout has its
/// whole process tree killed and is critical.
/// </summary>
internal sealed class ScriptCheckProbe : ICheckProbe
{
    /// <summary>How long to wait for output pipes to drain after the process is gone (a daemonised grandchild may hold them).</summary>
    private static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyList<string> _args;
    private readonly TimeSpan _timeout;

    public ScriptCheckProbe(CheckDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!definition.IsScript)
        {
            throw new ArgumentException("a script check needs Args", nameof(definition));
        }

        _args = definition.Args!;
        _timeout = definition.EffectiveTimeout;
    }

    public async Task<CheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(_args[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        for (var i = 1; i < _args.Count; i++)
        {
            info.ArgumentList.Add(_args[i]);
        }

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException)
        {
            return new CheckResult(HealthStatus.Critical, $"exec: \"{_args[0]}\": {ex.Message}");
        }

        // A check has nothing to say to the script; closing stdin stops one that reads it from hanging on us.
        process.StandardInput.Close();
        var output = new TailBuffer();
        var pumps = Task.WhenAll(
            PumpAsync(process.StandardOutput.BaseStream, output),
            PumpAsync(process.StandardError.BaseStream, output));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            KillTree(process);
            // Wait for the kill to land so the next run never overlaps this one.
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            await DrainAsync(pumps).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            var message = $"Timed out ({CheckOutput.GoDuration(_timeout)}) running check";
            var captured = Captured(output);
            return new CheckResult(HealthStatus.Critical, captured.Length > 0 ? message + "\n\n" + captured : message);
        }

        await DrainAsync(pumps).ConfigureAwait(false);
        var status = process.ExitCode switch
        {
            0 => HealthStatus.Passing,
            1 => HealthStatus.Warning,
            _ => HealthStatus.Critical,
        };
        return new CheckResult(status, Captured(output));
    }

    /// <summary>Consul's form: the kept tail, with a note of how much was dropped when the output was longer.</summary>
    private static string Captured(TailBuffer output)
    {
        var text = output.Text();
        var total = output.TotalWritten;
        return total > CheckOutput.MaxSize ? $"Captured {CheckOutput.MaxSize} of {total} bytes\n...\n{text}" : text;
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited between the timeout and the kill.
        }
    }

    private static async Task DrainAsync(Task pumps)
    {
        try
        {
            await pumps.WaitAsync(DrainBound).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Something outside the tree still holds a pipe; report what we have rather than wait on it.
        }
    }

    private static async Task PumpAsync(Stream stream, TailBuffer output)
    {
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                output.Write(buffer.AsSpan(0, read));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe went away with the process; what was read is the output.
        }
    }
}
