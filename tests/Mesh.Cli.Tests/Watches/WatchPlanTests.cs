using Mesh.Cli.Http;
using Mesh.Cli.Watches;

namespace Mesh.Cli.Tests.Watches;

public sealed class WatchPlanTests
{
    private static readonly WatchTimings Fast = new() { RetryInterval = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(5) };

    /// <summary>Plays a script of answers, recording the index each query blocked on; stops the plan when it runs out.</summary>
    private sealed class Script(bool monotonic, params object[] steps)
    {
        private int _next;
        public List<ulong> WaitIndexes { get; } = [];
        public List<(ulong Index, string Value)> Handled { get; } = [];
        public StringWriter Log { get; } = new();

        public async Task RunAsync()
        {
            using var done = new CancellationTokenSource();
            var plan = new WatchPlan("key", (index, ct) =>
            {
                WaitIndexes.Add(index);
                if (_next == steps.Length)
                {
                    done.Cancel();
                    throw new OperationCanceledException(ct);
                }
                return steps[_next++] switch
                {
                    (ulong i, string v) => Task.FromResult(new WatchResult(i, v, v)),
                    Exception e => Task.FromException<WatchResult>(e),
                    _ => throw new InvalidOperationException(),
                };
            }, monotonic, Fast);
            await plan.RunAsync(r =>
            {
                Handled.Add((r.Index, r.Compact));
                return Task.FromResult(true);
            }, Log, done.Token);
        }
    }

    [Fact]
    public async Task Run_FirstAnswer_HandledAndNextQueryBlocksOnItsIndex()
    {
        var s = new Script(true, (10UL, "a"));
        await s.RunAsync();
        Assert.Equal([(10UL, "a")], s.Handled);
        Assert.Equal([0UL, 10UL], s.WaitIndexes);
    }

    [Fact]
    public async Task Run_SameIndex_NotHandledAgain()
    {
        var s = new Script(true, (10UL, "a"), (10UL, "a"), (11UL, "b"));
        await s.RunAsync();
        Assert.Equal([(10UL, "a"), (11UL, "b")], s.Handled);
        Assert.Equal([0UL, 10UL, 10UL, 11UL], s.WaitIndexes);
    }

    [Fact]
    public async Task Run_NewIndexSameContent_NotHandled()
    {
        var s = new Script(true, (10UL, "a"), (12UL, "a"));
        await s.RunAsync();
        Assert.Equal([(10UL, "a")], s.Handled);
        Assert.Equal([0UL, 10UL, 12UL], s.WaitIndexes);
    }

    [Fact]
    public async Task Run_IndexWentBackwards_ResetsToZero()
    {
        var s = new Script(true, (10UL, "a"), (5UL, "b"), (5UL, "b"));
        await s.RunAsync();
        Assert.Equal([(10UL, "a"), (5UL, "b")], s.Handled);
        Assert.Equal([0UL, 10UL, 0UL, 5UL], s.WaitIndexes);
    }

    [Fact]
    public async Task Run_NonMonotonicIndexGoesDown_NoReset()
    {
        var s = new Script(false, (10UL, "a"), (5UL, "b"));
        await s.RunAsync();
        Assert.Equal([0UL, 10UL, 5UL], s.WaitIndexes);
    }

    [Fact]
    public async Task Run_ZeroIndex_BlocksOnOneInstead()
    {
        var s = new Script(true, (0UL, "a"));
        await s.RunAsync();
        Assert.Equal([(0UL, "a")], s.Handled);
        Assert.Equal([0UL, 1UL], s.WaitIndexes);
    }

    [Fact]
    public async Task Run_Error_LogsBacksOffAndRestartsFromZero()
    {
        var s = new Script(true, (10UL, "a"), ApiException.FromStatus(500, "boom"), (10UL, "a"), (11UL, "b"));
        await s.RunAsync();
        Assert.Equal([0UL, 10UL, 0UL, 10UL, 11UL], s.WaitIndexes);
        Assert.Equal([(10UL, "a"), (11UL, "b")], s.Handled);
        Assert.Equal("[ERR] mesh.watch: Watch (type: key) errored: Unexpected response code: 500 (boom), retry in 1ms\n",
            s.Log.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Run_RepeatedErrors_BackOffGrowsToTheCap()
    {
        var s = new Script(true, ApiException.FromStatus(500, "x"), ApiException.FromStatus(500, "x"), ApiException.FromStatus(500, "x"));
        await s.RunAsync();
        var lines = s.Log.ToString().ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.EndsWith("retry in 1ms", lines[0]);
        Assert.EndsWith("retry in 4ms", lines[1]);
        Assert.EndsWith("retry in 5ms", lines[2]);
    }

    [Fact]
    public async Task Run_HandlerReturnsFalse_Stops()
    {
        var calls = 0;
        var plan = new WatchPlan("key", (_, _) => Task.FromResult(new WatchResult((ulong)++calls, $"{calls}", "")), true, Fast);
        await plan.RunAsync(_ => Task.FromResult(false), TextWriter.Null, default);
        Assert.Equal(1, calls);
    }
}
