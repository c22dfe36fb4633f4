using Envoy.Config.Core.V3;
using Mesh.Xds.Cache;
using Mesh.Xds.Server;
using static Mesh.Xds.Tests.Cache.XdsFixtures;

namespace Mesh.Xds.Tests.Cache;

public sealed class SnapshotCacheTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task NextAsync_SnapshotNotSeen_ReturnsItAtOnce()
    {
        var cache = new SnapshotCache();
        var snapshot = Full();
        cache.SetSnapshot("web", snapshot);
        using var subscription = cache.Subscribe(new Node { Id = "web" });

        Assert.Same(snapshot, subscription.Current);
        Assert.Same(snapshot, await subscription.NextAsync(null, CancellationToken.None).WaitAsync(Timeout));
    }

    [Fact]
    public async Task NextAsync_SeenTheCurrent_WaitsForTheNextSet()
    {
        var cache = new SnapshotCache();
        var first = Full();
        cache.SetSnapshot("web", first);
        using var subscription = cache.Subscribe("web");

        var next = subscription.NextAsync(first, CancellationToken.None);
        Assert.False(next.IsCompleted);
        var second = Full(port: 2);
        cache.SetSnapshot("web", second);

        Assert.Same(second, await next.WaitAsync(Timeout));
    }

    [Fact]
    public async Task NextAsync_SeveralSetsMeanwhile_ReturnsOnlyTheLatest()
    {
        var cache = new SnapshotCache();
        var first = Full();
        cache.SetSnapshot("web", first);
        using var subscription = cache.Subscribe("web");

        ResourceSnapshot latest = first;
        for (var port = 2; port < 10; port++) cache.SetSnapshot("web", latest = Full(port: port));

        Assert.Same(latest, await subscription.NextAsync(first, CancellationToken.None).WaitAsync(Timeout));
    }

    [Fact]
    public async Task SetSnapshot_ManySubscribers_AllWakeWithTheSameSnapshot()
    {
        var cache = new SnapshotCache();
        var subscriptions = Enumerable.Range(0, 100).Select(_ => cache.Subscribe("web")).ToList();
        var waits = subscriptions.Select(s => s.NextAsync(null, CancellationToken.None)).ToList();
        Assert.All(waits, w => Assert.False(w.IsCompleted));

        var snapshot = Full();
        cache.SetSnapshot("web", snapshot);

        Assert.All(await Task.WhenAll(waits).WaitAsync(Timeout), s => Assert.Same(snapshot, s));
        subscriptions.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task SetSnapshot_OtherNode_DoesNotWakeThisOne()
    {
        var cache = new SnapshotCache();
        using var web = cache.Subscribe("web");
        using var api = cache.Subscribe("api");
        var webNext = web.NextAsync(null, CancellationToken.None);

        cache.SetSnapshot("api", Full());
        var apiSnapshot = await api.NextAsync(null, CancellationToken.None).WaitAsync(Timeout);

        Assert.NotNull(apiSnapshot);
        Assert.False(webNext.IsCompleted);
        Assert.Null(web.Current);
    }

    [Fact]
    public async Task NextAsync_Cancelled_Throws()
    {
        var cache = new SnapshotCache();
        using var subscription = cache.Subscribe("web");
        using var cancel = new CancellationTokenSource();
        var next = subscription.NextAsync(null, cancel.Token);

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Clear_ConnectedSubscriberWaitsForTheNextSet()
    {
        var cache = new SnapshotCache();
        var first = Full();
        cache.SetSnapshot("web", first);
        using var subscription = cache.Subscribe("web");

        Assert.True(cache.Clear("web"));
        Assert.Null(subscription.Current);
        Assert.Null(cache.GetSnapshot("web"));
        var next = subscription.NextAsync(first, CancellationToken.None);
        Assert.False(next.IsCompleted);

        var second = Full(port: 3);
        cache.SetSnapshot("web", second);
        Assert.Same(second, await next.WaitAsync(Timeout));
    }

    [Fact]
    public void Clear_UnknownNode_ReturnsFalse() => Assert.False(new SnapshotCache().Clear("nobody"));

    [Fact]
    public void Dispose_LastSubscriberOfAClearedNode_ForgetsTheNode()
    {
        var cache = new SnapshotCache();
        var subscription = cache.Subscribe("web");
        Assert.Equal(1, cache.NodeCount);
        Assert.Equal(1, cache.SubscriberCount("web"));

        subscription.Dispose();
        subscription.Dispose();

        Assert.Equal(0, cache.SubscriberCount("web"));
        Assert.Equal(0, cache.NodeCount);
    }

    [Fact]
    public async Task Subscribe_AfterTheNodeWasForgotten_SeesLaterSnapshots()
    {
        var cache = new SnapshotCache();
        cache.SetSnapshot("web", Full());
        cache.Clear("web");
        Assert.Equal(0, cache.NodeCount);

        using var subscription = cache.Subscribe("web");
        var snapshot = Full(port: 4);
        cache.SetSnapshot("web", snapshot);

        Assert.Same(snapshot, await subscription.NextAsync(null, CancellationToken.None).WaitAsync(Timeout));
    }

    [Fact]
    public void Dispose_NodeWithASnapshot_KeepsTheSnapshot()
    {
        var cache = new SnapshotCache();
        var snapshot = Full();
        cache.SetSnapshot("web", snapshot);

        cache.Subscribe("web").Dispose();

        Assert.Same(snapshot, cache.GetSnapshot("web"));
    }

    [Fact]
    public async Task NextAsync_AfterDispose_Throws()
    {
        var cache = new SnapshotCache();
        var subscription = cache.Subscribe("web");
        subscription.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => subscription.NextAsync(null, CancellationToken.None));
    }

    [Fact]
    public void Subscribe_NodeWithoutId_InvalidArgument()
    {
        var error = Assert.Throws<XdsStreamException>(() => new SnapshotCache().Subscribe(new Node()));
        Assert.Equal(XdsStatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task SetSnapshotAndSubscribe_Concurrently_NoSubscriberMissesTheLatest()
    {
        var cache = new SnapshotCache();
        var final = Full(port: 999);
        var writers = Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                cache.SetSnapshot("web", Full(port: i % 7 + 1));
                if (i % 50 == 0) cache.Clear("web");
            }
            cache.SetSnapshot("web", final);
        });
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++) cache.Subscribe("web").Dispose();
            using var subscription = cache.Subscribe("web");
            ResourceSnapshot? seen = null;
            // Latest wins: keep reading until the last published snapshot is seen; it must arrive.
            while (!ReferenceEquals(seen, final)) seen = await subscription.NextAsync(seen, CancellationToken.None).WaitAsync(Timeout);
        })).ToList();

        await Task.WhenAll(readers.Append(writers)).WaitAsync(Timeout);
        Assert.Same(final, cache.GetSnapshot("web"));
        Assert.Equal(0, cache.SubscriberCount("web"));
    }
}
