using System.Text.Json;
using Mesh.Cli.Locks;
using Mesh.Cli.Tests.Support;
using static Mesh.Cli.Tests.Support.Json;

namespace Mesh.Cli.Tests.Commands.Lock;

public sealed class LockCommandTests
{
    private const string Session = "sess-1";
    private static readonly string LockFlag = KvLock.FlagValue.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A stub agent for a lock on job/.lock: free at first, held by <see cref="Session"/> once acquired, released
    /// (no session, ModifyIndex 12) afterwards. The monitor's first read sees the lock held; its next blocks.
    /// </summary>
    private static CliHarness LockAgent(Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>>? monitor = null,
        Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>>? acquireRead = null)
    {
        var cli = new CliHarness();
        var released = false;
        cli.Handler
            .On("GET", "/v1/agent/self", 200, """{"Config":{"NodeName":"n1"}}""")
            .On("PUT", "/v1/session/create", 200, $$"""{"ID":"{{Session}}"}""")
            .On("PUT", $"/v1/session/destroy/{Session}", 200, "true")
            .On("DELETE", "/v1/kv/job/.lock", 200, "true")
            .On("PUT", "/v1/kv/job/.lock", r =>
            {
                if (r.Query.Contains("release=")) released = true;
                return StubHandler.Response(200, "true");
            })
            .On("GET", "/v1/kv/job/.lock", (r, ct) =>
            {
                if (r.Query.Contains("consistent"))
                {
                    if (monitor is not null) return monitor(r, ct);
                    return r.Query.Contains("index=")
                        ? StubHandler.Block()(r, ct)
                        : Task.FromResult(StubHandler.Response(200, Array(Pair("job/.lock", null, 10, 11, KvLock.FlagValue, 1, Session)), 11));
                }
                if (r.Query.Contains("wait=")) return acquireRead?.Invoke(r, ct) ?? Task.FromResult(StubHandler.Response(404, "", 10));
                return Task.FromResult(released
                    ? StubHandler.Response(200, Array(Pair("job/.lock", null, 10, 12, KvLock.FlagValue, 1)), 12)
                    : StubHandler.Response(404, "", 12));
            });
        return cli;
    }

    private static List<string> NonMonitor(CliHarness cli) => cli.Handler.Log.Where(l => !l.Contains("consistent")).ToList();

    [Fact]
    public async Task Lock_FreeLock_RunsChildHoldingItThenReleasesAndCleansUp()
    {
        var cli = LockAgent();
        var run = await cli.RunAsync("lock", "job", "echo", "held=$CONSUL_LOCK_HELD");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("held=true\n", run.Out);
        Assert.Equal("", run.Err);
        Assert.Equal(
        [
            "GET /v1/agent/self",
            "PUT /v1/session/create",
            "GET /v1/kv/job/.lock?wait=15000ms",
            $"PUT /v1/kv/job/.lock?acquire={Session}&flags={LockFlag}",
            $"PUT /v1/kv/job/.lock?flags={LockFlag}&release={Session}",
            $"PUT /v1/session/destroy/{Session}",
            "GET /v1/kv/job/.lock",
            "DELETE /v1/kv/job/.lock?cas=12",
        ], NonMonitor(cli));
        Assert.Empty(cli.Handler.Unrouted);

        using var body = JsonDocument.Parse(cli.Handler.Requests.Single(r => r.Path == "/v1/session/create").Body);
        Assert.Equal("Mesh lock for 'echo held=$CONSUL_LOCK_HELD' at 'job'", body.RootElement.GetProperty("Name").GetString());
        Assert.Equal("15s", body.RootElement.GetProperty("TTL").GetString());
        Assert.Equal("15s", body.RootElement.GetProperty("LockDelay").GetString());
        Assert.False(body.RootElement.TryGetProperty("Behavior", out _));
    }

    [Fact]
    public async Task Lock_HeldByAnother_WaitsOnBlockingQueryUntilFree()
    {
        var cli = LockAgent(acquireRead: (r, _) => Task.FromResult(r.Query.Contains("index=20")
            ? StubHandler.Response(200, Array(Pair("job/.lock", null, 5, 21, KvLock.FlagValue, 1)), 21)
            : StubHandler.Response(200, Array(Pair("job/.lock", null, 5, 20, KvLock.FlagValue, 1, "other")), 20)));
        var run = await cli.RunAsync("lock", "-name=batch", "job", "true");
        Assert.Equal(0, run.ExitCode);
        var reads = NonMonitor(cli).Where(l => l.StartsWith("GET /v1/kv/job/.lock?", StringComparison.Ordinal)).ToList();
        Assert.Equal(["GET /v1/kv/job/.lock?wait=15000ms", "GET /v1/kv/job/.lock?index=20&wait=15000ms"], reads);
    }

    [Fact]
    public async Task Lock_ChildFailsWithChildExitCode_Returns2()
    {
        var run = await LockAgent().RunAsync("lock", "-child-exit-code", "job", "exit 3");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Error running handler: exit status 3", run.Err);
    }

    [Fact]
    public async Task Lock_ChildFailsWithoutChildExitCode_Returns0()
    {
        var cli = LockAgent();
        var run = await cli.RunAsync("lock", "job", "exit 3");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains(cli.Handler.Log, l => l.Contains("release="));
    }

    [Fact]
    public async Task Lock_ShellFalse_RunsProgramDirectly()
    {
        var run = await LockAgent().RunAsync("lock", "-shell=false", "job", "/bin/echo", "$NOT_EXPANDED");
        Assert.Equal("$NOT_EXPANDED\n", run.Out);
    }

    [Fact]
    public async Task Lock_LockLost_TerminatesChildAndCleansUp()
    {
        // The monitor sees another session holding the key: the lock is gone.
        var cli = LockAgent(monitor: (_, _) => Task.FromResult(
            StubHandler.Response(200, Array(Pair("job/.lock", null, 10, 13, KvLock.FlagValue, 2, "other")), 13)));
        var started = DateTime.UtcNow;
        var run = await cli.RunAsync("lock", "-verbose", "job", "sleep", "30");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "the child was not stopped");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Lock lost, killing child\n", run.Out);
        Assert.True(run.Out.Contains("Child terminated\n"), run.Out);
    }

    [Fact]
    public async Task Lock_MonitorErrorsWithinRetries_KeepsLock()
    {
        var calls = 0;
        var cli = LockAgent(monitor: (r, ct) => Interlocked.Increment(ref calls) switch
        {
            <= 2 => Task.FromResult(StubHandler.Response(500, "leader lost")),
            3 => Task.FromResult(StubHandler.Response(200, Array(Pair("job/.lock", null, 10, 11, KvLock.FlagValue, 1, Session)), 11)),
            _ => StubHandler.Block()(r, ct),
        });
        var run = await cli.RunAsync("lock", "-verbose", "job", "sleep", "1");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Child terminated, releasing lock\n", run.Out);
        Assert.DoesNotContain("Lock lost", run.Out);
    }

    [Fact]
    public async Task Lock_MonitorErrorWithoutRetries_LosesLock()
    {
        var cli = LockAgent(monitor: (_, _) => Task.FromResult(StubHandler.Response(500, "leader lost")));
        var run = await cli.RunAsync("lock", "-verbose", "-monitor-retry=0", "job", "sleep", "30");
        Assert.Contains("Lock lost, killing child\n", run.Out);
    }

    [Fact]
    public async Task Lock_InterruptedWhileChildRuns_StopsChildAndReleases()
    {
        var cli = LockAgent();
        using var cts = new CancellationTokenSource();
        var running = cli.RunAsync(cts.Token, "lock", "-verbose", "job", "echo started; sleep 30");
        await Eventually.TrueAsync(() => cli.OutSoFar.Contains("started\n"), "the child to start");
        await cts.CancelAsync();
        var run = await running;
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Shutdown triggered, killing child\n", run.Out);
        Assert.Contains(cli.Handler.Log, l => l.Contains("release=" + Session));
        Assert.Contains($"PUT /v1/session/destroy/{Session}", cli.Handler.Log);
    }

    [Fact]
    public async Task Lock_InterruptedWhileWaiting_GivesUpAndDestroysSession()
    {
        var reached = new TaskCompletionSource();
        var cli = LockAgent(acquireRead: StubHandler.Block(reached));
        using var cts = new CancellationTokenSource();
        var running = cli.RunAsync(cts.Token, "lock", "job", "true");
        await reached.Task;
        await cts.CancelAsync();
        var run = await running;
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Shutdown triggered or timeout during lock acquisition\n", run.Err);
        Assert.Contains($"PUT /v1/session/destroy/{Session}", cli.Handler.Log);
        Assert.DoesNotContain(cli.Handler.Log, l => l.Contains("acquire="));
    }

    [Fact]
    public async Task Lock_Timeout_GivesUpAfterWaiting()
    {
        var cli = LockAgent(acquireRead: async (_, ct) =>
        {
            await Task.Delay(50, ct); // a blocking query that returns with the lock still held
            return StubHandler.Response(200, Array(Pair("job/.lock", null, 5, 20, KvLock.FlagValue, 1, "other")), 20);
        });
        var run = await cli.RunAsync("lock", "-timeout=300ms", "job", "true");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Shutdown triggered or timeout during lock acquisition\n", run.Err);
        Assert.Contains("GET /v1/kv/job/.lock?wait=300ms", cli.Handler.Log);
        Assert.Contains($"PUT /v1/session/destroy/{Session}", cli.Handler.Log);
    }

    [Fact]
    public async Task Lock_KeyIsNotALock_FailsWithConflict()
    {
        var cli = LockAgent(acquireRead: (_, _) => Task.FromResult(StubHandler.Response(200, Array(Pair("job/.lock", "x", flags: 0)), 3)));
        var run = await cli.RunAsync("lock", "job", "true");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Lock acquisition failed: Existing key does not match lock use\n", run.Err);
        Assert.Contains($"PUT /v1/session/destroy/{Session}", cli.Handler.Log);
    }

    [Fact]
    public async Task Lock_AgentUnreachable_ErrorQueryingAgent()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/agent/self", 500, "no leader");
        var run = await cli.RunAsync("lock", "job", "true");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error querying Mesh agent: Unexpected response code: 500 (no leader)\n", run.Err);
    }

    [Theory]
    [InlineData(new[] { "lock", "-n=0", "p", "c" }, "Lock holder limit must be positive")]
    [InlineData(new[] { "lock", "p" }, "Key prefix and child command must be specified")]
    [InlineData(new[] { "lock", "-timeout=-1s", "p", "c" }, "Timeout must be positive")]
    [InlineData(new[] { "lock", "-monitor-retry=-1", "p", "c" }, "Number for 'monitor-retry' must be >= 0")]
    public async Task Lock_InvalidArguments_Exit1WithoutRequests(string[] args, string message)
    {
        var cli = new CliHarness();
        var run = await cli.RunAsync(args);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(message + "\n", run.Err);
        Assert.Empty(cli.Handler.Requests);
    }
}
