using System.Diagnostics;
using System.Text.Json;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.EndToEnd;

/// <summary>The CLI against a real agent process: every command's requests and output meet the agent's real HTTP API.</summary>
[Collection(AgentCollection.Name)]
public sealed class EndToEndTests(AgentFixture fixture)
{
    private readonly AgentProcess _agent = fixture.Agent;

    /// <summary>A fresh key namespace per test, so tests sharing the agent do not see each other's keys.</summary>
    private readonly string _ns = "e2e-" + Guid.NewGuid().ToString("N")[..8];

    private CliHarness Cli()
    {
        var cli = new CliHarness { UseNetwork = true };
        cli.Env["MESH_HTTP_ADDR"] = _agent.HostPort;
        // Real lock timings, except a short retry so a lock-delay is waited out quickly.
        cli.LockTimings = Mesh.Cli.Locks.LockTimings.Default with { RetryTime = TimeSpan.FromMilliseconds(200) };
        return cli;
    }

    private async Task<CliRun> RunMesh(params string[] args) => await Cli().RunAsync(args);

    [Fact]
    public async Task Kv_PutGetCasDelete_AgainstRealAgent()
    {
        var key = $"{_ns}/config/max";
        var put = await RunMesh("kv", "put", "-flags=7", key, "5");
        Assert.Equal((0, $"Success! Data written to: {key}\n", ""), (put.ExitCode, put.Out, put.Err));

        Assert.Equal("5\n", (await RunMesh("kv", "get", key)).Out);

        var detailed = (await RunMesh("kv", "get", "-detailed", key)).Out;
        Assert.Contains("Flags            7\n", detailed);
        Assert.Contains($"Key              {key}\n", detailed);
        Assert.Contains("Session          -\n", detailed);
        var modifyIndex = detailed.Split('\n').Single(l => l.StartsWith("ModifyIndex", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];

        var stale = await RunMesh("kv", "put", "-cas", "-modify-index=1", key, "6");
        Assert.Equal(1, stale.ExitCode);
        Assert.Equal($"Error! Did not write to {key}: CAS failed\n", stale.Err);

        var fresh = await RunMesh("kv", "put", "-cas", $"-modify-index={modifyIndex}", key, "6");
        Assert.Equal(0, fresh.ExitCode);
        Assert.Equal("6\n", (await RunMesh("kv", "get", key)).Out);

        Assert.Equal($"Success! Deleted key: {key}\n", (await RunMesh("kv", "delete", key)).Out);
        var gone = await RunMesh("kv", "get", key);
        Assert.Equal((1, $"Error! No key exists at: {key}\n"), (gone.ExitCode, gone.Err));
    }

    [Fact]
    public async Task Kv_ExportImportWithPrefix_RoundTrips()
    {
        await RunMesh("kv", "put", $"{_ns}/src/a", "one");
        await RunMesh("kv", "put", "-flags=3", $"{_ns}/src/b/c", "two");
        var export = await RunMesh("kv", "export", $"{_ns}/src");
        Assert.Equal(0, export.ExitCode);
        using (var doc = JsonDocument.Parse(export.Out))
            Assert.Equal([$"{_ns}/src/a", $"{_ns}/src/b/c"], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("key").GetString()));

        var cli = Cli();
        cli.Stdin = export.Out;
        var import = await cli.RunAsync("kv", "import", $"-prefix={_ns}/copy", "-");
        Assert.Equal($"Imported: {_ns}/copy/{_ns}/src/a\nImported: {_ns}/copy/{_ns}/src/b/c\n", import.Out);

        Assert.Equal($"{_ns}/copy/{_ns}/src/a:one\n{_ns}/copy/{_ns}/src/b/c:two\n", (await RunMesh("kv", "get", "-recurse", $"{_ns}/copy")).Out);
        Assert.Contains("Flags            3\n", (await RunMesh("kv", "get", "-detailed", $"{_ns}/copy/{_ns}/src/b/c")).Out);
        Assert.Equal([$"{_ns}/copy/", $"{_ns}/src/"], (await RunMesh("kv", "get", "-keys", $"{_ns}/")).Out.TrimEnd('\n').Split('\n'));

        Assert.Equal($"Success! Deleted keys with prefix: {_ns}\n", (await RunMesh("kv", "delete", "-recurse", _ns)).Out);
        Assert.Equal("", (await RunMesh("kv", "get", "-recurse", _ns)).Out);
    }

    [Fact]
    public async Task Event_FireThenWatch_EventListedWithPayload()
    {
        var name = _ns + "-deploy";
        var fire = await RunMesh("event", $"-name={name}", "v1.2");
        Assert.Equal(0, fire.ExitCode);
        Assert.Matches(@"^Event ID: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$", fire.Out);
        var id = fire.Out["Event ID: ".Length..].Trim();

        var watch = await RunMesh("watch", "-type=event", $"-name={name}");
        Assert.Equal(0, watch.ExitCode);
        using var doc = JsonDocument.Parse(watch.Out);
        var ev = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal(id, ev.GetProperty("ID").GetString());
        Assert.Equal("v1.2", System.Text.Encoding.UTF8.GetString(ev.GetProperty("Payload").GetBytesFromBase64()));
    }

    // The event list's X-Consul-Index is the XOR of the newest (name-filtered) event's UUID halves (1 when there is
    // none) and the agent blocks while it equals ?index=; the watch finds the last event it saw by that hash, so a
    // handler must see each new event once and old ones never again.
    [Fact]
    public async Task Watch_EventWithHandler_FiresForEachNewEventOnly()
    {
        var name = _ns + "-evwatch";
        await RunMesh("event", $"-name={name}", "first");
        var cli = Cli();
        using var cts = new CancellationTokenSource();
        var running = cli.RunAsync(cts.Token, "watch", "-type=event", $"-name={name}", "cat");
        await Eventually.TrueAsync(() => cli.OutSoFar.Contains('\n'), "the first handler run");

        await RunMesh("event", $"-name={name}", "second");
        await Eventually.TrueAsync(() => cli.OutSoFar.Count(c => c == '\n') >= 2, "the handler run for the new event");
        await cts.CancelAsync();
        var lines = (await running).Out.TrimEnd('\n').Split('\n');

        static string[] Payloads(string json) => JsonDocument.Parse(json).RootElement.EnumerateArray()
            .Select(e => System.Text.Encoding.UTF8.GetString(e.GetProperty("Payload").GetBytesFromBase64())).ToArray();
        // Consul: the first run gets the events already there, each later run only the events that are new.
        Assert.Equal(["first"], Payloads(lines[0]));
        Assert.Equal(["second"], Payloads(lines[1]));
    }

    [Fact]
    public async Task Watch_KeyWithHandler_FiresOnStartAndOnChange()
    {
        var key = $"{_ns}/watched";
        var cli = Cli();
        using var cts = new CancellationTokenSource();
        var running = cli.RunAsync(cts.Token, "watch", "-type=key", $"-key={key}", "cat; echo \" index=$CONSUL_INDEX\"");
        // The first result (no key yet) runs the handler with null.
        await Eventually.TrueAsync(() => cli.OutSoFar.Contains("null\n index="), "the first handler run");

        await RunMesh("kv", "put", key, "hello");
        var b64 = Convert.ToBase64String("hello"u8.ToArray());
        await Eventually.TrueAsync(() => cli.OutSoFar.Contains($"\"Value\":\"{b64}\""), "the handler run for the change");

        await RunMesh("kv", "put", key, "again");
        await Eventually.TrueAsync(() => cli.OutSoFar.Contains(Convert.ToBase64String("again"u8.ToArray())), "the second change");

        await cts.CancelAsync();
        var run = await running;
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(3, run.Out.Split('\n').Count(l => l.Contains(" index=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Lock_SecondLockerWaitsUntilFirstReleases()
    {
        var prefix = $"{_ns}/job";
        var gate = Path.Combine(Path.GetTempPath(), $"{_ns}-gate");
        var first = Cli();
        var firstRun = first.RunAsync("lock", prefix, $"echo first-holding; while [ ! -f {gate} ]; do sleep 0.05; done; echo first-done");
        await Eventually.TrueAsync(() => first.OutSoFar.Contains("first-holding"), "the first locker's child");

        var second = Cli();
        var secondRun = second.RunAsync("lock", "-verbose", prefix, "echo second-holding");
        await Eventually.TrueAsync(() => second.OutSoFar.Contains("Attempting lock acquisition"), "the second locker to start waiting");
        var holder = (await RunMesh("kv", "get", "-detailed", $"{prefix}/.lock")).Out;
        Assert.DoesNotContain("Session          -", holder);
        await Task.Delay(500); // the second locker must still be waiting, not running its child
        Assert.DoesNotContain("second-holding", second.OutSoFar);

        await File.WriteAllTextAsync(gate, "");
        try
        {
            var r1 = await firstRun;
            Assert.Equal((0, "first-holding\nfirst-done\n"), (r1.ExitCode, r1.Out));
            var r2 = await secondRun;
            Assert.Equal(0, r2.ExitCode);
            Assert.Contains("second-holding\n", r2.Out);
            Assert.Contains("Cleanup succeeded\n", r2.Out);
        }
        finally
        {
            File.Delete(gate);
        }
        // Both released and the lock key cleaned up.
        Assert.Equal(1, (await RunMesh("kv", "get", $"{prefix}/.lock")).ExitCode);
    }

    [Fact]
    public async Task Lock_SemaphoreOfTwo_BothHoldAtOnce()
    {
        var prefix = $"{_ns}/pool";
        var gate = Path.Combine(Path.GetTempPath(), $"{_ns}-pool-gate");
        var a = Cli();
        var b = Cli();
        var script = $"echo in-slot; while [ ! -f {gate} ]; do sleep 0.05; done";
        var ra = a.RunAsync("lock", "-n=2", prefix, script);
        var rb = b.RunAsync("lock", "-n=2", prefix, script);
        try
        {
            await Eventually.TrueAsync(() => a.OutSoFar.Contains("in-slot") && b.OutSoFar.Contains("in-slot"), "both holders");
            var state = (await RunMesh("kv", "get", $"{prefix}/.lock")).Out;
            using var doc = JsonDocument.Parse(state);
            Assert.Equal(2, doc.RootElement.GetProperty("Limit").GetInt32());
            Assert.Equal(2, doc.RootElement.GetProperty("Holders").EnumerateObject().Count());
        }
        finally
        {
            await File.WriteAllTextAsync(gate, "");
        }
        Assert.Equal(0, (await ra).ExitCode);
        Assert.Equal(0, (await rb).ExitCode);
        File.Delete(gate);
        Assert.Equal("", (await RunMesh("kv", "get", "-recurse", prefix)).Out);
    }

    [Fact]
    public async Task Info_Members_Monitor_AgainstRealAgent()
    {
        var info = await RunMesh("info");
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("agent:\n", info.Out);
        Assert.Contains("raft:\n", info.Out);

        var members = await RunMesh("members");
        Assert.Equal(0, members.ExitCode);
        Assert.StartsWith("Node ", members.Out);
        Assert.Contains(" alive ", members.Out);
        Assert.Contains(" server ", members.Out);

        var monitor = Cli();
        using var cts = new CancellationTokenSource();
        var running = monitor.RunAsync(cts.Token, "monitor", "-log-level=debug");
        // Fire events until one shows up in the log stream (the monitor attaches asynchronously).
        await Eventually.TrueAsync(async () =>
        {
            await RunMesh("event", $"-name={_ns}-log");
            return monitor.OutSoFar.Contains($"{_ns}-log");
        }, "an event in the monitor stream");
        await cts.CancelAsync();
        Assert.Equal(0, (await running).ExitCode);
    }

    [Fact]
    public async Task Binary_LockInterruptedBySigterm_StopsChildAndReleases()
    {
        var prefix = $"{_ns}/signalled";
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "mesh.dll"), "lock", "-verbose", $"-http-addr={_agent.HostPort}", prefix, "echo holding; sleep 30" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = new System.Text.StringBuilder();
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data == "holding") holding.TrySetResult();
        };
        p.BeginOutputReadLine();
        var stderr = p.StandardError.ReadToEndAsync();
        await holding.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("Session          -", (await RunMesh("kv", "get", "-detailed", $"{prefix}/.lock")).Out);

        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(timeout.Token);

        Assert.Equal(0, p.ExitCode);
        Assert.Equal("", await stderr);
        lock (stdout) Assert.Contains("Shutdown triggered, killing child", stdout.ToString());
        // Released and cleaned up: the lock key is gone.
        Assert.Equal(1, (await RunMesh("kv", "get", $"{prefix}/.lock")).ExitCode);
    }

    [Fact]
    public async Task Binary_KvGetMissing_ExitCodeAndMessage()
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "mesh.dll"), "kv", "get", $"-http-addr=http://{_agent.HostPort}", $"{_ns}/none" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(1, p.ExitCode);
        Assert.Equal($"Error! No key exists at: {_ns}/none\n", err);
    }
}

/// <summary><c>mesh leave</c> stops the agent, so it gets an agent of its own.</summary>
public sealed class LeaveEndToEndTests
{
    [Fact]
    public async Task Leave_RealAgent_GracefulLeaveAndAgentExits()
    {
        await using var agent = await AgentProcess.StartAsync();
        var cli = new CliHarness { UseNetwork = true };
        var run = await cli.RunAsync("leave", $"-http-addr={agent.HostPort}");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("Graceful leave complete\n", run.Out);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await agent.WaitForExitAsync(timeout.Token);
        Assert.True(agent.HasExited);
    }
}

/// <summary>The agent dies (SIGKILL) under a held lock: it gets an agent of its own.</summary>
public sealed class AgentCrashEndToEndTests
{
    [Fact]
    public async Task Lock_AgentKilledWhileHeld_ChildIsStoppedAndLockExitsNonZero()
    {
        await using var agent = await AgentProcess.StartAsync();
        var pidFile = Path.Combine(Path.GetTempPath(), $"mesh-lock-child-{Guid.NewGuid():N}");
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "mesh.dll"), "lock", "-verbose", $"-http-addr={agent.HostPort}", "crash/lock",
                     $"echo $$ > {pidFile}; echo holding; exec sleep 120" })
            psi.ArgumentList.Add(a);
        using var locker = Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        locker.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (e.Data == "holding") holding.TrySetResult();
        };
        locker.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (output) output.AppendLine(e.Data);
        };
        locker.BeginOutputReadLine();
        locker.BeginErrorReadLine();
        try
        {
            await holding.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var childPid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);

            agent.Kill();

            // Without its agent the lock cannot be known to be held: the command must give it up, not run on blind.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await locker.WaitForExitAsync(timeout.Token);
            Assert.NotEqual(0, locker.ExitCode);
            Assert.False(IsAlive(childPid), $"the child (pid {childPid}) outlived the lock");
        }
        finally
        {
            if (!locker.HasExited) locker.Kill(entireProcessTree: true);
            File.Delete(pidFile);
        }
        lock (output) Assert.True(output.ToString().Contains("Lock lost, killing child", StringComparison.Ordinal), output.ToString());
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
