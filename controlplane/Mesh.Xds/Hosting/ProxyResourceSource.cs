using Envoy.Config.Core.V3;
using Mesh.State;
using Mesh.Xds.Cache;
using Mesh.Xds.ProxyCfg;
using Mesh.Xds.Resources;
using Mesh.Xds.Server;
using Microsoft.Extensions.Logging;

namespace Mesh.Xds.Hosting;

/// <summary>
/// The ADS server's source of resources: for each proxy with a stream open, a <see cref="ProxyWatcher"/> keeps its
/// <see cref="ConfigSnapshot"/> current, a <see cref="SnapshotTranslator"/> turns each one into resources, and the
/// <see cref="SnapshotCache"/> hands them to the proxy's streams latest-wins. Watchers start with a proxy's first stream
/// and stop with its last, so only connected proxies cost anything.
/// </summary>
/// <remarks>
/// A stream whose node id is a <c>connect-proxy</c> registered on this agent (or that says it is Envoy, which may
/// connect before its registration lands) is a sidecar. Any other client is a proxyless gRPC client: all of them share
/// one watcher and one snapshot holding every service, and each is sent only the resources it names.
/// </remarks>
internal sealed partial class ProxyResourceSource : IResourceSource, IAsyncDisposable
{
    /// <summary>The cache key of the snapshot every proxyless client shares (not a valid service ID).</summary>
    internal const string ProxylessKey = "\0proxyless";

    private readonly StateStore _store;
    private readonly SnapshotAssembler _assembler;
    private readonly ILeafSource? _leaves;
    private readonly ILogger _logger;
    private readonly SnapshotCache _cache = new();
    private readonly AssignmentCache _assignments = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _published;

    /// <param name="store">The state store.</param>
    /// <param name="assembler">Reads snapshots from the store.</param>
    /// <param name="leaves">Leaf certificates for sidecars; null when Connect is off (sidecars then never get a snapshot).</param>
    /// <param name="logger">The logger.</param>
    public ProxyResourceSource(StateStore store, SnapshotAssembler assembler, ILeafSource? leaves, ILogger logger)
    {
        _store = store;
        _assembler = assembler;
        _leaves = leaves;
        _logger = logger;
    }

    /// <summary>Proxies (and the proxyless view) being watched now.</summary>
    public int Watched
    {
        get
        {
            lock (_gate) return _entries.Count;
        }
    }

    /// <summary>Snapshots published to the cache since start.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Load assignments serialised since start (shared by every proxy with the same cluster and endpoints).</summary>
    public long AssignmentsMade => _assignments.Made;

    /// <inheritdoc/>
    public IResourceSubscription Subscribe(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (string.IsNullOrEmpty(node.Id)) throw new XdsStreamException(XdsStatusCode.InvalidArgument, "node.id is required");
        var mode = IsSidecar(node) ? ProxyMode.Sidecar : ProxyMode.Proxyless;
        var key = mode == ProxyMode.Sidecar ? node.Id : ProxylessKey;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                var translator = new SnapshotTranslator(_assignments);
                var watcher = new ProxyWatcher(_store, _assembler, _leaves, mode == ProxyMode.Sidecar ? node.Id : "proxyless", mode,
                    snapshot => Publish(key, translator, snapshot), _logger);
                entry = new Entry(watcher);
                _entries[key] = entry;
                watcher.Start();
            }
            entry.Streams++;
        }
        return new Subscription(_cache.Subscribe(key), () => Release(key));
    }

    private bool IsSidecar(Node node) =>
        _assembler.FindProxy(_store.View(), null, node.Id) is not null
        || string.Equals(node.UserAgentName, "envoy", StringComparison.OrdinalIgnoreCase);

    private void Publish(string key, SnapshotTranslator translator, ConfigSnapshot snapshot)
    {
        Translation translation;
        try
        {
            translation = translator.Translate(snapshot);
        }
        catch (InvalidOperationException ex)
        {
            // A snapshot the builders cannot render (a chain naming a node it lacks) must not take the proxy's last
            // good configuration with it: keep that, and say why.
            LogUntranslatable(snapshot.ProxyId, ex.Message);
            return;
        }
        foreach (var problem in translation.Problems) LogProblem(snapshot.ProxyId, problem);
        _cache.SetSnapshot(key, translation.Resources);
        Interlocked.Increment(ref _published);
    }

    private void Release(string key)
    {
        ProxyWatcher? stop = null;
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var entry) && --entry.Streams == 0)
            {
                _entries.Remove(key);
                stop = entry.Watcher;
            }
        }
        if (stop is null) return;
        // The last stream of the proxy is gone: stop watching and forget its resources (a reconnecting proxy gets a
        // fresh snapshot, built from the state as it is then).
        _ = StopAsync(key, stop);
    }

    private async Task StopAsync(string key, ProxyWatcher watcher)
    {
        await watcher.DisposeAsync().ConfigureAwait(false);
        lock (_gate)
        {
            // A new stream may have started a new watcher for the key meanwhile; its snapshot stays.
            if (!_entries.ContainsKey(key)) _cache.Clear(key);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        List<ProxyWatcher> watchers;
        lock (_gate)
        {
            watchers = _entries.Values.Select(e => e.Watcher).ToList();
            _entries.Clear();
        }
        foreach (var w in watchers) await w.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Entry(ProxyWatcher watcher)
    {
        public ProxyWatcher Watcher { get; } = watcher;
        public int Streams;
    }

    private sealed class Subscription(IResourceSubscription inner, Action release) : IResourceSubscription
    {
        private int _disposed;

        public ResourceSnapshot? Current => inner.Current;

        public Task<ResourceSnapshot> NextAsync(ResourceSnapshot? seen, CancellationToken cancellationToken) =>
            inner.NextAsync(seen, cancellationToken);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            inner.Dispose();
            release();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "proxy {ProxyId}: configuration cannot be built, keeping the last one: {Reason}")]
    private partial void LogUntranslatable(string proxyId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "proxy {ProxyId}: {Problem}")]
    private partial void LogProblem(string proxyId, string problem);
}
