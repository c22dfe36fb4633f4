using System.Runtime.InteropServices;
using Mesh.Cli.Commands;

namespace Mesh.Cli;

/// <summary>The <c>mesh</c> executable.</summary>
internal static class Program
{
    /// <summary>
    /// Dispatches <c>mesh &lt;command&gt; [subcommand] args...</c>. The first Ctrl-C or SIGTERM cancels the
    /// context so commands can release locks and stop children cleanly; a second Ctrl-C ends the process at once.
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        // A process that runs a sidecar tunes its sockets before the first one opens (the proxy lookup opens one).
        if (args is ["connect", "proxy", ..]) Mesh.Sidecar.Hosting.SidecarProcess.PreferInlineCompletions();
        using var shutdown = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (shutdown.IsCancellationRequested) return;
            e.Cancel = true;
            shutdown.Cancel();
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            shutdown.Cancel();
        });

        var ctx = CliContext.FromConsole(shutdown.Token);
        try
        {
            return await new CommandTable(CliServices.Default).RunAsync(ctx, args).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            return 1;
        }
        catch (Exception e)
        {
            // A bug should still read as one line, not a stack trace.
            await Console.Error.WriteLineAsync($"Error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
