using System.Threading.Channels;
using Mesh.State.Tables;
using Mesh.Xds.ProxyCfg;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Xds.Tests.ProxyCfg;

public sealed class ProxyWatcherTests
{
    /// <summary>A leaf source whose renewals the test triggers.</summary>
    private sealed class FakeLeaves : ILeafSource
    {
        private TaskCompletionSource _renewed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ulong _index = 1;
        public int Calls;

        public void Renew()
        {
            Interlocked.Increment(ref _index);
            Interlocked.Exchange(ref _renewed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        public async Task<(LeafCertificate, ulong)> GetAsync(string service, ulong minIndex, TimeSpan wait, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            while (Volatile.Read(ref _index) <= minIndex) await _renewed.Task.WaitAsync(ct);
            var index = Volatile.Read(ref _index);
            return (MeshFixture.Leaf(index.ToString("x2")), index);
        }
    }

    private static async Task<ConfigSnapshot> NextAsync(ChannelReader<ConfigSnapshot> reader) =>
        await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    [Fact]
    public async Task Watcher_PublishesOnInputAndLeafChanges_AndNothingForUnrelatedWrites()
    {
        var mesh = new MeshFixture();
        mesh.RegisterWithSidecar("counting", "counting-1", 9003, 21000);
        mesh.RegisterWithSidecar("dashboard", "dashboard", 9002, 21001, null, ("counting", 5000));
        var published = Channel.CreateUnbounded<ConfigSnapshot>();
        var leaves = new FakeLeaves();
        await using var watcher = new ProxyWatcher(mesh.Store, new SnapshotAssembler(MeshFixture.Node, "dc1", true), leaves,
            "dashboard-sidecar-proxy", ProxyMode.Sidecar, s => published.Writer.TryWrite(s), NullLogger.Instance);
        watcher.Start();

        var first = await NextAsync(published.Reader);
        Assert.True(first.Upstreams[0].Endpoints.Values.Single().Endpoints[0].Healthy);

        mesh.Register(new ServiceInstance { Node = MeshFixture.Node, ID = "unrelated", Service = "unrelated", Port = 1 });
        mesh.Check("counting-1-sidecar-proxy", HealthStatus.Critical);
        var second = await NextAsync(published.Reader);
        // The unrelated write woke the watcher but published nothing: the next snapshot is the health change.
        Assert.False(second.Upstreams[0].Endpoints.Values.Single().Endpoints[0].Healthy);

        leaves.Renew();
        var third = await NextAsync(published.Reader);
        Assert.NotEqual(second.Leaf!.SerialNumber, third.Leaf!.SerialNumber);
        Assert.False(published.Reader.TryRead(out _));
    }

    [Fact]
    public async Task Watcher_ProxyRegisteredLater_PublishesOnceItExists()
    {
        var mesh = new MeshFixture();
        var published = Channel.CreateUnbounded<ConfigSnapshot>();
        await using var watcher = new ProxyWatcher(mesh.Store, new SnapshotAssembler(MeshFixture.Node, "dc1", true), new FakeLeaves(),
            "web-1-sidecar-proxy", ProxyMode.Sidecar, s => published.Writer.TryWrite(s), NullLogger.Instance);
        watcher.Start();
        await Task.Yield();
        Assert.False(published.Reader.TryRead(out _));

        mesh.RegisterWithSidecar("web", "web-1", 8080, 21005);

        Assert.Equal("web", (await NextAsync(published.Reader)).Local!.Service);
    }
}
