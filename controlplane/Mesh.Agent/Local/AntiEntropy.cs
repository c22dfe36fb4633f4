using Mesh.Agent.Server;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Tables;
using Mesh.State.Watch;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Local;

/// <summary>
/// Keeps the catalog's view of this node equal to the agent's local state: registers what is missing or different,
/// deregisters what the catalog has and the agent does not (so a service removed from the catalog by hand comes
/// back, and one registered on this node behind the agent's back goes). It runs on every local change, on every
/// catalog change to this node, and at least every <see cref="FullSyncInterval"/>; failures back off.
/// </summary>
internal sealed partial class AntiEntropy
{
    /// <summary>How often the whole node is compared even when nothing signalled a change.</summary>
    public static readonly TimeSpan FullSyncInterval = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly LocalState _local;
    private readonly StateStore _store;
    private readonly StateWriter _writer;
    private readonly Node _self;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _syncs;

    public AntiEntropy(LocalState local, StateStore store, StateWriter writer, Node self, TimeProvider time, ILogger<AntiEntropy> logger)
    {
        _local = local;
        _store = store;
        _writer = writer;
        _self = self;
        _time = time;
        _logger = logger;
    }

    /// <summary>Number of sync passes that wrote something; for metrics and tests.</summary>
    public long Syncs => Interlocked.Read(ref _syncs);

    /// <summary>Runs until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromSeconds(1);
        var lastFull = DateTime.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            var localChanged = _local.Changed;
            using var ws = new WatchSet(_store.Watches);
            _store.View().NodeServices(_self.Name, ws);
            try
            {
                var now = _time.GetUtcNow().UtcDateTime;
                var full = now - lastFull >= FullSyncInterval;
                if (await SyncOnceAsync(full, cancellationToken).ConfigureAwait(false)) Interlocked.Increment(ref _syncs);
                if (full) lastFull = now;
                backoff = TimeSpan.FromSeconds(1);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Shutting down with a write in flight: nothing is lost, the next start syncs again.
                return;
            }
            catch (Exception ex)
            {
                LogSyncFailed(backoff.TotalSeconds, ex);
                try
                {
                    await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                continue;
            }
            try
            {
                // Wake for the next full pass, or sooner when a service is due to be reaped.
                var wait = _local.NextReapIn(_time.GetUtcNow().UtcDateTime) is { } reap && reap < FullSyncInterval
                    ? reap + TimeSpan.FromMilliseconds(10) : FullSyncInterval;
                var catalogChanged = ws.WaitAsync(wait, cancellationToken);
                await Task.WhenAny(localChanged, catalogChanged).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One comparison of local state and catalog. <paramref name="includeOutput"/> also syncs checks whose only
    /// change is their output (otherwise those wait for the periodic full pass, so a check whose output changes on
    /// every run does not write on every run). Returns whether anything was written.
    /// </summary>
    public async Task<bool> SyncOnceAsync(bool includeOutput, CancellationToken cancellationToken)
    {
        foreach (var id in _local.ServicesToReap(_time.GetUtcNow().UtcDateTime))
        {
            LogReaping(id);
            _local.RemoveService(id);
        }

        var view = _store.View();
        var services = _local.Services();
        var checks = _local.Checks();
        var (_, node, catalogList) = view.NodeServices(_self.Name);
        var catalogServices = catalogList.ToDictionary(s => s.ID, StringComparer.Ordinal);
        var catalogChecks = view.NodeChecks(_self.Name).Checks.ToDictionary(c => c.CheckID, StringComparer.Ordinal);
        var wrote = false;

        if (node is null)
        {
            await ApplyAsync(new RegisterNodeCommand(_self, []), cancellationToken).ConfigureAwait(false);
            wrote = true;
        }

        // One write per service that changed (with its changed checks), and one for the node's changed checks:
        // thousands of checks registered at once cost a few thousand writes, not one each.
        var changedChecks = checks.Values.Where(c => !catalogChecks.TryGetValue(c.CheckID, out var inCatalog) ||
            inCatalog.Status != c.Status || inCatalog.Name != c.Name || inCatalog.Notes != c.Notes ||
            inCatalog.ServiceID != c.ServiceID || inCatalog.Type != c.Type || (includeOutput && inCatalog.Output != c.Output))
            .GroupBy(c => c.ServiceID).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var s in services.Values)
        {
            var serviceChanged = !catalogServices.TryGetValue(s.ID, out var inCatalog) || !inCatalog.SameContent(s);
            changedChecks.Remove(s.ID, out var itsChecks);
            if (!serviceChanged && itsChecks is null) continue;
            await ApplyAsync(new CatalogRegisterCommand(_self, s, itsChecks ?? [], SkipNodeUpdate: true), cancellationToken).ConfigureAwait(false);
            wrote = true;
        }
        // Node checks, and checks of services that are gone by now (the store refuses those; the next pass removes them).
        var rest = changedChecks.Values.SelectMany(c => c).Where(c => c.ServiceID.Length == 0).ToList();
        if (rest.Count > 0)
        {
            await ApplyAsync(new CatalogRegisterCommand(_self, null, rest, SkipNodeUpdate: true), cancellationToken).ConfigureAwait(false);
            wrote = true;
        }
        foreach (var s in catalogServices.Values.Where(s => !services.ContainsKey(s.ID)))
        {
            await ApplyAsync(new CatalogDeregisterCommand(_self.Name, s.ID, null), cancellationToken).ConfigureAwait(false);
            wrote = true;
        }
        // serfHealth belongs to the servers' view of the node, not to the agent's local state.
        foreach (var c in catalogChecks.Values.Where(c => c.CheckID != "serfHealth" && !checks.ContainsKey(c.CheckID)))
        {
            await ApplyAsync(new CatalogDeregisterCommand(_self.Name, null, c.CheckID), cancellationToken).ConfigureAwait(false);
            wrote = true;
        }
        return wrote;
    }

    private async Task ApplyAsync(Command command, CancellationToken cancellationToken)
    {
        var (result, _) = await _writer.ApplyAsync(command, cancellationToken).ConfigureAwait(false);
        // A write refused now (a service removed between the read and the write) is repaired by the next pass.
        if (result.Error is not null) LogRefused(command.GetType().Name, result.Error);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "anti-entropy sync failed; retrying in {Seconds}s")]
    private partial void LogSyncFailed(double seconds, Exception ex);

    [LoggerMessage(Level = LogLevel.Debug, Message = "anti-entropy write {Command} refused: {Error}")]
    private partial void LogRefused(string command, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "deregistering service {ServiceId}: critical for longer than its DeregisterCriticalServiceAfter")]
    private partial void LogReaping(string serviceId);
}
