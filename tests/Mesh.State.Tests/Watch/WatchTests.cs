using Mesh.State.Commands;
using Mesh.State.Watch;

namespace Mesh.State.Tests.Watch;

public class WatchTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task KeyWatch_FiresOnThatKey_NotOnAnother()
    {
        var f = new StoreFixture();
        using var ws = new WatchSet(f.Store.Watches);
        f.Store.View().KvGet("a", ws);
        var wait = ws.WaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        f.Set("b", "1");
        await AssertStillWaiting(wait);
        f.Set("a", "1");
        await wait.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task PrefixWatch_FiresForKeysUnderIt_AndNotOutside()
    {
        var f = new StoreFixture();
        using var ws = new WatchSet(f.Store.Watches);
        f.Store.View().KvList("web/", ws);
        var wait = ws.WaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        f.Set("db/x", "1");
        f.Set("we", "1");
        await AssertStillWaiting(wait);
        f.Set("web/deep/x", "1");
        await wait.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task UnchangedWrite_DoesNotWakeReaders()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        using var ws = new WatchSet(f.Store.Watches);
        f.Store.View().KvGet("a", ws);
        var wait = ws.WaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        f.Set("a", "1");
        await AssertStillWaiting(wait);
    }

    /// <summary>A wrong wake-up completes asynchronously: give it time to land before concluding there was none.</summary>
    private static async Task AssertStillWaiting(Task wait)
    {
        var first = await Task.WhenAny(wait, Task.Delay(150));
        Assert.NotSame(wait, first);
    }

    [Fact]
    public void DisposedWatches_LeaveNoSlotsBehind()
    {
        var f = new StoreFixture();
        for (var i = 0; i < 100; i++)
        {
            using var ws = new WatchSet(f.Store.Watches);
            f.Store.View().KvGet("k" + i, ws);
            f.Store.View().KvList("p" + i, ws);
        }
        Assert.Equal(0, f.Store.Watches.Slots);
    }

    [Fact]
    public async Task BlockingQuery_ReturnsWhenTheKeyChanges()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var index = f.Store.View().KvGet("a").Index;
        var query = f.Store.BlockingQueryAsync(index, TimeSpan.FromSeconds(30), (v, ws) => v.KvGet("a", ws), r => r.Index, CancellationToken.None);
        Assert.False(query.IsCompleted);
        f.Set("a", "2");
        var result = await query.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("2", StoreFixture.Text(result.Entry));
        Assert.True(result.Index > index);
    }

    [Fact]
    public async Task BlockingQuery_TimesOut_WithTheCurrentResult()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var index = f.Store.View().KvGet("a").Index;
        var result = await f.Store.BlockingQueryAsync(index, Short, (v, ws) => v.KvGet("a", ws), r => r.Index, CancellationToken.None);
        Assert.Equal(index, result.Index);
    }

    [Fact]
    public async Task BlockingQuery_IndexAlreadyPast_ReturnsAtOnce()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var index = f.Store.View().KvGet("a").Index;
        var result = await f.Store.BlockingQueryAsync(index - 1, TimeSpan.FromMinutes(5), (v, ws) => v.KvGet("a", ws), r => r.Index, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(index, result.Index);
    }

    [Fact]
    public async Task BlockingQuery_Cancelled_Throws()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        using var cts = new CancellationTokenSource();
        var query = f.Store.BlockingQueryAsync(f.Store.Index, TimeSpan.FromMinutes(5), (v, ws) => v.KvGet("a", ws), r => r.Index, cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => query);
    }

    [Fact]
    public async Task StopBlocking_AnswersParkedQueriesAtOnce_AndLaterOnesDoNotPark()
    {
        var f = new StoreFixture();
        f.Set("a", "1");
        var index = f.Store.View().KvGet("a").Index;
        var parked = f.Store.BlockingQueryAsync(index, TimeSpan.FromMinutes(5), (v, ws) => v.KvGet("a", ws), r => r.Index, CancellationToken.None);
        Assert.False(parked.IsCompleted);
        f.Store.StopBlocking();
        Assert.Equal(index, (await parked.WaitAsync(TimeSpan.FromSeconds(5))).Index);
        var later = await f.Store.BlockingQueryAsync(index, TimeSpan.FromMinutes(5), (v, ws) => v.KvGet("a", ws), r => r.Index, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(index, later.Index);
    }

    [Fact]
    public async Task ManyWatchersOnOneKey_AllWakeOnOneWrite()
    {
        var f = new StoreFixture();
        f.Set("hot", "0");
        var index = f.Store.View().KvGet("hot").Index;
        var queries = Enumerable.Range(0, 2000).Select(_ =>
            f.Store.BlockingQueryAsync(index, TimeSpan.FromMinutes(1), (v, ws) => v.KvGet("hot", ws), r => r.Index, CancellationToken.None)).ToList();
        f.Set("hot", "1");
        var results = await Task.WhenAll(queries).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(results, r => Assert.Equal("1", StoreFixture.Text(r.Entry)));
        Assert.Equal(0, f.Store.Watches.Slots);
    }

    [Fact]
    public async Task BlockingQuery_CommitBetweenReadAndWatchRegistration_IsNotMissed()
    {
        // The query commits a write after the store handed it a version but before it registers its watch: the
        // exact window a naive blocking loop loses. The query must notice and look again instead of waiting a minute.
        var f = new StoreFixture();
        f.Set("k", "1");
        var index = f.Store.View().KvGet("k").Index;
        var first = true;
        var result = await f.Store.BlockingQueryAsync(index, TimeSpan.FromMinutes(1), (v, ws) =>
        {
            if (first && ws is not null)
            {
                first = false;
                f.Set("k", "2");
            }
            return v.KvGet("k", ws);
        }, r => r.Index, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("2", StoreFixture.Text(result.Entry));
    }

    [Fact]
    public async Task ConcurrentWritersAndWatchers_NeverLoseAWakeup()
    {
        // Watchers block with a one-minute wait until they see the final value; writers race them. A lost wake-up
        // leaves a watcher parked for the full minute, far past the 20-second deadline below.
        var f = new StoreFixture();
        f.Set("k", "0");
        var watchers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            var rounds = 0;
            while (true)
            {
                var (idx, entry) = f.Store.View().KvGet("k");
                if (StoreFixture.Text(entry) == "final") return rounds;
                await f.Store.BlockingQueryAsync(idx, TimeSpan.FromMinutes(1), (v, ws) => v.KvGet("k", ws), r => r.Index, CancellationToken.None);
                rounds++;
            }
        })).ToList();
        while (f.Store.Watches.Slots == 0) await Task.Yield();
        await Task.Run(async () =>
        {
            for (var i = 1; i <= 2000; i++)
            {
                f.Set("k", i.ToString());
                if (i % 50 == 0) await Task.Yield();
            }
            f.Set("k", "final");
        });
        var rounds = await Task.WhenAll(watchers).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.All(rounds, r => Assert.True(r > 0));
    }
}

public class WatchRegistryTests
{
    [Fact]
    public async Task PrefixWatches_FireOnlyForRealPrefixes_OfAnyKeyLength()
    {
        var f = new StoreFixture();
        using var onAb = new Mesh.State.Watch.WatchSet(f.Store.Watches);
        using var onXy = new Mesh.State.Watch.WatchSet(f.Store.Watches);
        using var onAll = new Mesh.State.Watch.WatchSet(f.Store.Watches);
        f.Store.View().KvList("ab", onAb);
        f.Store.View().KvList("xy", onXy);
        f.Store.View().KvList("", onAll);
        var ab = onAb.WaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        var xy = onXy.WaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        var all = onAll.WaitAsync(Timeout.InfiniteTimeSpan, CancellationToken.None);
        f.Set("ab" + new string('k', 100_000), "v");
        Assert.True(await ab.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(await all.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.NotSame(xy, await Task.WhenAny(xy, Task.Delay(150)));
    }

    [Fact]
    public void Slots_AreReleased_WhenReadersGoAway()
    {
        var f = new StoreFixture();
        using (var ws = new Mesh.State.Watch.WatchSet(f.Store.Watches))
        {
            f.Store.View().KvList("p/", ws);
            f.Store.View().KvGet("k", ws);
            Assert.Equal(2, f.Store.Watches.Slots);
        }
        Assert.Equal(0, f.Store.Watches.Slots);
    }
}
