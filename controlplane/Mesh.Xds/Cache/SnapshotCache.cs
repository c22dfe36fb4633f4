using System.Collections.Concurrent;
using Envoy.Config.Core.V3;
using Mesh.Xds.Server;

namespace Mesh.Xds.Cache;

/// <summary>
/// Resource snapshots by node id, as go-control-plane's snapshot cache: a producer calls
/// <see cref="SetSnapshot"/> whenever a proxy's resources change, and every stream of that proxy wakes once and reads
/// the newest snapshot. Nothing is queued: a stream that is slow to send simply skips the snapshots published meanwhile.
/// </summary>
/// <remarks>
/// Per node there is one immutable (snapshot, change signal) pair, swapped whole on every publish; streams read it
/// without locking, and all streams of a node wait on the same task, so a publish costs one task completion however
/// many streams there are. The per-node lock is taken only to publish, subscribe and unsubscribe.
/// </remarks>
internal sealed class SnapshotCache : IResourceSource
{
    private readonly ConcurrentDictionary<string, NodeEntry> _nodes = new(StringComparer.Ordinal);

    /// <summary>How many nodes have a snapshot or a subscriber.</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>Publishes <paramref name="snapshot"/> as the node's newest; every subscribed stream wakes.</summary>
    public void SetSnapshot(string nodeId, ResourceSnapshot snapshot)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentNullException.ThrowIfNull(snapshot);
        while (true)
        {
            var entry = _nodes.GetOrAdd(nodeId, static _ => new NodeEntry());
            lock (entry.Gate)
            {
                // A detached entry was removed from the map by a concurrent Clear or unsubscribe; publish to its successor.
                if (entry.Detached) continue;
                entry.Publish(snapshot);
                return;
            }
        }
    }

    /// <summary>
    /// Forgets the node's snapshot. Streams already connected keep what they were sent and wait for the next
    /// <see cref="SetSnapshot"/>; new streams wait too. Returns whether there was a snapshot.
    /// </summary>
    public bool Clear(string nodeId)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        if (!_nodes.TryGetValue(nodeId, out var entry)) return false;
        lock (entry.Gate)
        {
            if (entry.Detached) return false;
            var had = entry.State.Snapshot is not null;
            if (had) entry.Publish(null);
            if (entry.Subscribers == 0) Detach(nodeId, entry);
            return had;
        }
    }

    /// <summary>The node's newest snapshot, or null.</summary>
    public ResourceSnapshot? GetSnapshot(string nodeId) =>
        _nodes.TryGetValue(nodeId, out var entry) ? entry.State.Snapshot : null;

    /// <summary>How many live subscriptions the node has (streams connected for it).</summary>
    public int SubscriberCount(string nodeId)
    {
        if (!_nodes.TryGetValue(nodeId, out var entry)) return 0;
        lock (entry.Gate) return entry.Subscribers;
    }

    /// <inheritdoc/>
    /// <exception cref="XdsStreamException">INVALID_ARGUMENT when the node has no id.</exception>
    public IResourceSubscription Subscribe(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (string.IsNullOrEmpty(node.Id)) throw new XdsStreamException(XdsStatusCode.InvalidArgument, "node.id is required");
        return Subscribe(node.Id);
    }

    /// <summary>Subscribes to a node's snapshots by id (the node need not have a snapshot yet).</summary>
    public IResourceSubscription Subscribe(string nodeId)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        while (true)
        {
            var entry = _nodes.GetOrAdd(nodeId, static _ => new NodeEntry());
            lock (entry.Gate)
            {
                if (entry.Detached) continue;
                entry.Subscribers++;
                return new Subscription(this, nodeId, entry);
            }
        }
    }

    private void Unsubscribe(string nodeId, NodeEntry entry)
    {
        lock (entry.Gate)
        {
            entry.Subscribers--;
            if (entry.Subscribers == 0 && entry.State.Snapshot is null) Detach(nodeId, entry);
        }
    }

    /// <summary>Removes an entry nobody needs any more; called under its lock.</summary>
    private void Detach(string nodeId, NodeEntry entry)
    {
        entry.Detached = true;
        _nodes.TryRemove(new KeyValuePair<string, NodeEntry>(nodeId, entry));
    }

    /// <summary>The newest snapshot and the signal that completes when it is replaced.</summary>
    private sealed record NodeState(ResourceSnapshot? Snapshot, TaskCompletionSource Changed);

    private sealed class NodeEntry
    {
        private NodeState _state = NewState(null);

        public object Gate { get; } = new();

        /// <summary>Live subscriptions; guarded by <see cref="Gate"/>.</summary>
        public int Subscribers { get; set; }

        /// <summary>Set once the entry left the map; guarded by <see cref="Gate"/>.</summary>
        public bool Detached { get; set; }

        public NodeState State => Volatile.Read(ref _state);

        /// <summary>Swaps in the new state, then wakes everyone waiting on the old one; called under <see cref="Gate"/>.</summary>
        public void Publish(ResourceSnapshot? snapshot)
        {
            var old = Interlocked.Exchange(ref _state, NewState(snapshot));
            old.Changed.TrySetResult();
        }

        // Continuations run on the thread pool, not inside the publisher's lock: one publish may wake thousands of streams.
        private static NodeState NewState(ResourceSnapshot? snapshot) =>
            new(snapshot, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    private sealed class Subscription(SnapshotCache cache, string nodeId, NodeEntry entry) : IResourceSubscription
    {
        private int _disposed;

        public ResourceSnapshot? Current => entry.State.Snapshot;

        public async Task<ResourceSnapshot> NextAsync(ResourceSnapshot? seen, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            while (true)
            {
                var state = entry.State;
                if (state.Snapshot is { } snapshot && !ReferenceEquals(snapshot, seen)) return snapshot;
                await state.Changed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) cache.Unsubscribe(nodeId, entry);
        }
    }
}
