using Mesh.Cli.Commands;
using Mesh.Cli.Locks;
using Mesh.Cli.Processes;
using Mesh.Cli.Watches;

namespace Mesh.Cli.Tests.Support;

/// <summary>The outcome of one in-process CLI run.</summary>
internal sealed record CliRun(int ExitCode, string Out, string Err);

/// <summary>
/// Runs <c>mesh</c> in-process against a <see cref="StubHandler"/> (or the network when <see cref="UseNetwork"/>),
/// with a private environment and fast lock/watch timings.
/// </summary>
internal sealed class CliHarness
{
    private readonly StringWriter _out = new() { NewLine = "\n" };
    private readonly StringWriter _err = new() { NewLine = "\n" };

    public StubHandler Handler { get; } = new();
    public Dictionary<string, string> Env { get; } = new(StringComparer.Ordinal);
    public string Stdin { get; set; } = "";
    public bool UseNetwork { get; set; }

    /// <summary>The directory commands that create files work in (null: the process's current directory).</summary>
    public string? WorkingDirectory { get; set; }

    public LockTimings LockTimings { get; set; } = new()
    {
        RetryTime = TimeSpan.FromMilliseconds(50),
        MonitorRetryTime = TimeSpan.FromMilliseconds(20),
        KillGracePeriod = TimeSpan.FromSeconds(2),
        CleanupTimeout = TimeSpan.FromSeconds(5),
    };

    public WatchTimings WatchTimings { get; set; } = new() { RetryInterval = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50) };

    /// <summary>How <c>connect envoy</c> starts Envoy; null keeps the real launcher (which replaces the process).</summary>
    public IEnvoyLauncher? EnvoyLauncher { get; set; }
    public Mesh.Cli.Commands.Connect.ISidecarRunner? SidecarRunner { get; set; }

    /// <summary>What has been written to stdout so far (safe to read while a run is in progress).</summary>
    public string OutSoFar { get { lock (_out) return _out.ToString(); } }

    public Task<CliRun> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    public async Task<CliRun> RunAsync(CancellationToken cancellation, params string[] args)
    {
        var services = new CliServices
        {
            Handler = UseNetwork ? null : Handler,
            LockTimings = LockTimings,
            WatchTimings = WatchTimings,
        };
        if (EnvoyLauncher is not null) services = services with { EnvoyLauncher = EnvoyLauncher };
        if (SidecarRunner is not null) services = services with { SidecarRunner = SidecarRunner };
        var ctx = new CliContext(new LockedWriter(_out), new LockedWriter(_err), new StringReader(Stdin),
            name => Env.TryGetValue(name, out var v) ? v : null, cancellation);
        if (WorkingDirectory is not null) ctx = ctx with { WorkingDirectory = WorkingDirectory };
        var code = await new CommandTable(services).RunAsync(ctx, args);
        lock (_out) lock (_err) return new CliRun(code, _out.ToString(), _err.ToString());
    }

    /// <summary>Serialises writes from the command and from child-process output pumps.</summary>
    private sealed class LockedWriter(StringWriter inner) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;
        [System.Diagnostics.CodeAnalysis.AllowNull] public override string NewLine { get => "\n"; set { } }
        public override void Write(char value) { lock (inner) inner.Write(value); }
        public override void Write(string? value) { lock (inner) inner.Write(value); }
        public override void Write(char[] buffer, int index, int count) { lock (inner) inner.Write(buffer, index, count); }
        public override void WriteLine(string? value) { lock (inner) inner.Write(value + "\n"); }
        public override void WriteLine() { lock (inner) inner.Write("\n"); }
    }
}

/// <summary>Waits for a condition that another thread or process makes true.</summary>
internal static class Eventually
{
    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        TrueAsync(() => Task.FromResult(condition()), what, timeout);

    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
