using Mesh.State;
using Mesh.State.Watch;
using Microsoft.Extensions.Logging;

namespace Mesh.Xds.ProxyCfg;

/// <summary>
/// Keeps one proxy's <see cref="ConfigSnapshot"/> current: reads it from the store (registering a watch on every input),
/// publishes it when it differs from the last one, and waits for the next change of any input or of the leaf. A
/// snapshot is published only when complete (registered, CA ready, leaf issued); a burst of changes collapses into
/// one read, because the loop always reads the newest state.
/// </summary>
internal sealed partial class ProxyWatcher : IAsyncDisposable
{
    private static readonly TimeSpan LeafWait = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan LeafRetry = TimeSpan.FromSeconds(1);

    private readonly StateStore _store;
    private readonly SnapshotAssembler _assembler;
    private readonly ILeafSource? _leaves;
    private readonly Action<ConfigSnapshot> _publish;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <param name="store">The state store.</param>
    /// <param name="assembler">Reads snapshots out of store views.</param>
    /// <param name="leaves">Leaf certificates; required for sidecars.</param>
    /// <param name="proxyId">The proxy's service ID (sidecar) or the client's node id (proxyless).</param>
    /// <param name="mode">Sidecar or proxyless.</param>
    /// <param name="publish">Called with each new snapshot, from the watcher's loop (one call at a time).</param>
    /// <param name="logger">The logger.</param>
    public ProxyWatcher(StateStore store, SnapshotAssembler assembler, ILeafSource? leaves, string proxyId, ProxyMode mode,
        Action<ConfigSnapshot> publish, ILogger logger)
    {
        _store = store;
        _assembler = assembler;
        _leaves = leaves;
        ProxyId = proxyId;
        Mode = mode;
        _publish = publish;
        _logger = logger;
    }

    /// <summary>The proxy's ID.</summary>
    public string ProxyId { get; }

    /// <summary>Sidecar or proxyless.</summary>
    public ProxyMode Mode { get; }

    /// <summary>The last snapshot published, or null.</summary>
    public ConfigSnapshot? Current { get; private set; }

    /// <summary>Starts the loop.</summary>
    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken ct)
    {
        var leaf = new LeafTracker(_leaves, _stop.Token);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                using var ws = new WatchSet(_store.Watches);
                ConfigSnapshot? snapshot = null;
                try
                {
                    snapshot = Read(ws, leaf);
                }
                catch (FormatException ex)
                {
                    LogUnreadable(ProxyId, ex.Message);
                }
                if (snapshot is not null && !SnapshotComparer.Same(snapshot, Current))
                {
                    Current = snapshot;
                    _publish(snapshot);
                }
                // No timeout: a snapshot only changes when an input does, and a timer per proxy would cost more than it adds.
                var changed = ws.WaitAsync(Timeout.InfiniteTimeSpan, ct);
                await Task.WhenAny(changed, leaf.Changed).ConfigureAwait(false);
                if (changed.IsCanceled || ct.IsCancellationRequested) break;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A bug here must not take the agent down; the proxy keeps its last configuration.
            LogFailed(ProxyId, ex);
        }
        finally
        {
            leaf.Dispose();
        }
    }

    private ConfigSnapshot? Read(WatchSet ws, LeafTracker leaf)
    {
        var view = _store.View();
        if (Mode == ProxyMode.Proxyless) return _assembler.Proxyless(view, ws, ProxyId);
        var proxy = _assembler.FindProxy(view, ws, ProxyId);
        if (proxy is null) return null;
        var destination = _assembler.Definition(proxy)?.DestinationServiceName ?? "";
        return _assembler.Sidecar(view, ws, proxy, leaf.For(destination, ex => LogLeafFailed(ProxyId, destination, ex.Message)));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null) await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>
    /// The leaf of the service the proxy fronts: fetched on first need, then refreshed by a blocking wait that ends
    /// on renewal or root change. A failed fetch (rate limit, CA not ready) is retried after a pause.
    /// </summary>
    private sealed class LeafTracker(ILeafSource? source, CancellationToken stop) : IDisposable
    {
        private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        private readonly TaskCompletionSource _never = new();
        private string _service = "";
        private Task<(LeafCertificate Leaf, ulong Index)>? _fetch;
        private LeafCertificate? _leaf;
        private ulong _index;

        /// <summary>Completes when the fetch in flight does (a new leaf, or a failure to retry).</summary>
        public Task Changed => _fetch ?? _never.Task;

        public LeafCertificate? For(string service, Action<Exception> failed)
        {
            if (source is null || service.Length == 0) return null;
            if (service != _service)
            {
                _service = service;
                _leaf = null;
                _index = 0;
                _fetch = source.GetAsync(service, 0, LeafWait, _cts.Token);
            }
            if (_fetch is { IsCompleted: true } done)
            {
                if (done.IsCompletedSuccessfully)
                {
                    (_leaf, _index) = done.Result;
                    _fetch = source.GetAsync(service, _index, LeafWait, _cts.Token);
                }
                else if (!_cts.IsCancellationRequested)
                {
                    failed(done.Exception?.GetBaseException() ?? new OperationCanceledException());
                    _fetch = RetryAsync(service);
                }
            }
            return _leaf;
        }

        private async Task<(LeafCertificate, ulong)> RetryAsync(string service)
        {
            await Task.Delay(LeafRetry, _cts.Token).ConfigureAwait(false);
            return await source!.GetAsync(service, _index, LeafWait, _cts.Token).ConfigureAwait(false);
        }

        public void Dispose()
        {
            _cts.Cancel();
            _cts.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "proxy {ProxyId}: its Proxy block cannot be read: {Reason}")]
    private partial void LogUnreadable(string proxyId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "proxy {ProxyId}: getting the leaf certificate of {Service} failed, retrying: {Reason}")]
    private partial void LogLeafFailed(string proxyId, string service, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "proxy {ProxyId}: configuration watcher stopped")]
    private partial void LogFailed(string proxyId, Exception exception);
}
