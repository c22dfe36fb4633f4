using Mesh.State.Text;
using Mesh.Agent.Config;
using System.ComponentModel;
using Mesh.Cli.Http;
using Mesh.Cli.Locks;
using Mesh.Cli.Processes;
using Mesh.Cli.Text;

namespace Mesh.Cli.Commands.Lock;

/// <summary>
/// <c>mesh lock</c>: runs a child while holding a lock (<c>-n=1</c>) or a semaphore slot (<c>-n&gt;1</c>), as
/// <c>consul lock</c> does: the child starts once acquired, the lock is released when it exits, and the child is
/// terminated (SIGTERM, then SIGKILL after a grace period) if the lock is lost or the command is interrupted.
/// </summary>
internal sealed class LockCommand : Command
{
    private const string Usage = """
        Usage: mesh lock [options] prefix child...

          Acquires a lock or semaphore at a given path, and invokes a child process
          when successful. The child process can assume the lock is held while it
          executes. If the lock is lost or communication is disrupted the child
          process will be sent a SIGTERM signal and given time to gracefully exit.
          After the grace period expires the process will be hard terminated.

          For Mesh agents on Windows, the child process is always hard terminated
          with a SIGKILL, since Windows has no POSIX compatible notion for SIGTERM.

          When -n=1, only a single lock holder or leader exists providing mutual
          exclusion. Setting a higher value switches to a semaphore allowing multiple
          holders to coordinate.

          The prefix provided must have write privileges.
        """;

    private const int DefaultMonitorRetry = 3;

    private readonly Func<bool> _childExitCode, _passStdin, _shell, _verbose;
    private readonly Func<int> _limit, _monitorRetry;
    private readonly Func<string> _name;
    private TimeSpan _timeout;
    private readonly HttpOptions _http;

    public LockCommand(CliServices services) : base(services, Usage)
    {
        _childExitCode = Flags.Bool("child-exit-code", false,
            "Exit 2 if the child process exited with an error if this is true, otherwise this doesn't propagate an " +
            "error from the child. The default value is false.");
        _limit = Flags.Int("n", 1,
            "Optional limit on the number of concurrent lock holders. The underlying implementation switches from a " +
            "lock to a semaphore when the value is greater than 1. The default value is 1.");
        _monitorRetry = Flags.Int("monitor-retry", DefaultMonitorRetry,
            "Number of times to retry if Mesh returns a 500 error while monitoring the lock. This allows riding out " +
            "brief periods of unavailability without causing leader elections, but increases the amount of time " +
            "required to detect a lost lock in some cases. The default value is 3, with a 1s wait between retries. " +
            "Set this value to 0 to disable retires.");
        _name = Flags.String("name", "",
            "Optional name to associate with the lock session. It not provided, one is generated based on the " +
            "provided child command.");
        _passStdin = Flags.Bool("pass-stdin", false, "Pass stdin to the child process.");
        _shell = Flags.Bool("shell", true,
            "Use a shell to run the command (can set a custom shell via the SHELL environment variable).");
        Flags.Custom("timeout",
            "Maximum amount of time to wait to acquire the lock, specified as a `duration` like \"1s\" or \"3h\". The " +
            "default value is 0.", SetTimeout("timeout"));
        _verbose = Flags.Bool("verbose", false, "Enable verbose (debugging) output.");
        Flags.Custom("try", "DEPRECATED. Use -timeout instead.", SetTimeout("try"));
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Execute a command holding a lock";

    private Action<string> SetTimeout(string flag) => v => _timeout = GoDuration.TryParse(v, out var d)
        ? d
        : throw new Flags.FlagException($"invalid value \"{v}\" for flag -{flag}: parse error");

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (_limit() <= 0)
        {
            ctx.Err.WriteLine("Lock holder limit must be positive");
            return 1;
        }
        var extra = Flags.Args;
        if (extra.Count < 2)
        {
            ctx.Err.WriteLine("Key prefix and child command must be specified");
            return 1;
        }
        var prefix = extra[0].StartsWith('/') ? extra[0][1..] : extra[0];
        var child = extra.Skip(1).ToList();
        if (_timeout < TimeSpan.Zero)
        {
            ctx.Err.WriteLine("Timeout must be positive");
            return 1;
        }
        var name = _name().Length > 0 ? _name() : $"Mesh lock for '{string.Join(' ', child)}' at '{prefix}'";
        if (_monitorRetry() < 0)
        {
            ctx.Err.WriteLine("Number for 'monitor-retry' must be >= 0");
            return 1;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        try
        {
            await client.Agent.NodeNameAsync(ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error querying Mesh agent: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (ctx.Cancellation.IsCancellationRequested)
        {
            return 1;
        }

        var timings = Services.LockTimings;
        var options = new LockOptions
        {
            Key = prefix,
            SessionName = name,
            MonitorRetries = _monitorRetry(),
            TryOnce = _timeout > TimeSpan.Zero,
            WaitTime = _timeout,
        };
        ILockHandle handle;
        try
        {
            if (_limit() == 1)
            {
                // The semaphore's key name, so a lock and a semaphore on one prefix conflict visibly.
                var key = GoPath.Join(prefix, KvSemaphore.LockKeyName);
                Verbose(ctx, $"Setting up lock at path: {key}");
                handle = new KvLock(client, options with { Key = key }, timings);
            }
            else
            {
                Verbose(ctx, $"Setting up semaphore (limit {_limit()}) at prefix: {prefix}");
                handle = new KvSemaphore(client, options, _limit(), timings);
            }
        }
        catch (LockException e)
        {
            ctx.Err.WriteLine($"Lock setup failed: {e.Message}");
            return 1;
        }

        Verbose(ctx, "Attempting lock acquisition");
        Task? lost;
        try
        {
            lost = await handle.AcquireAsync(ctx.Cancellation);
        }
        catch (LockException e)
        {
            ctx.Err.WriteLine($"Lock acquisition failed: {e.Message}");
            return 1;
        }
        if (lost is null)
        {
            ctx.Err.WriteLine("Shutdown triggered or timeout during lock acquisition");
            return 1;
        }

        var childCode = 0;
        if (ctx.Cancellation.IsCancellationRequested)
        {
            ctx.Err.WriteLine("Shutdown triggered during lock acquisition");
        }
        else
        {
            childCode = await RunChildAsync(ctx, child, lost, timings);
        }

        // The command may have been interrupted: release with a fresh, bounded token.
        using var cleanup = new CancellationTokenSource(timings.CleanupTimeout);
        try
        {
            await handle.ReleaseAsync(cleanup.Token);
        }
        catch (Exception e) when (e is LockException or OperationCanceledException)
        {
            ctx.Err.WriteLine($"Lock release failed: {e.Message}");
            return 1;
        }
        try
        {
            await handle.CleanupAsync(cleanup.Token);
            Verbose(ctx, "Cleanup succeeded");
        }
        catch (LockException e) when (e.InUse)
        {
            Verbose(ctx, "Cleanup aborted, lock in use");
        }
        catch (Exception e) when (e is LockException or OperationCanceledException)
        {
            ctx.Err.WriteLine($"Lock cleanup failed: {e.Message}");
            return 1;
        }
        return _childExitCode() ? childCode : 0;
    }

    /// <summary>Runs the child until it exits, the lock is lost or the command is interrupted; 2 if it failed.</summary>
    private async Task<int> RunChildAsync(CliContext ctx, IReadOnlyList<string> args, Task lost, LockTimings timings)
    {
        Verbose(ctx, "Starting handler");
        ChildProcess process;
        try
        {
            process = ChildProcess.Start(ctx, args, _shell(),
                new Dictionary<string, string> { ["CONSUL_LOCK_HELD"] = "true", ["MESH_LOCK_HELD"] = "true" },
                passStdin: _passStdin());
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException)
        {
            ctx.Err.WriteLine($"Error starting handler: {e.Message}");
            Verbose(ctx, "Child terminated, releasing lock");
            return 2;
        }
        using (process)
        {
            var interrupted = Task.Delay(Timeout.Infinite, ctx.Cancellation);
            var first = await Task.WhenAny(process.Exited, lost, interrupted);
            if (first == process.Exited)
            {
                var code = await process.Completed;
                Verbose(ctx, "Child terminated, releasing lock");
                if (code == 0) return 0;
                ctx.Err.WriteLine($"Error running handler: exit status {code}");
                return 2;
            }

            Verbose(ctx, first == lost ? "Lock lost, killing child" : "Shutdown triggered, killing child");
            Verbose(ctx, $"Terminating child pid {process.Pid}");
            process.Terminate();
            if (await Task.WhenAny(process.Exited, Task.Delay(timings.KillGracePeriod)) == process.Exited)
            {
                Verbose(ctx, "Child terminated");
            }
            else
            {
                Verbose(ctx, $"Child did not exit after grace period of {GoDuration.Format(timings.KillGracePeriod)}");
                Verbose(ctx, $"Killing child pid {process.Pid}");
                process.Kill();
            }
            await process.Completed;
            return 0;
        }
    }

    private void Verbose(CliContext ctx, string message)
    {
        if (_verbose()) ctx.Out.WriteLine(message);
    }
}
