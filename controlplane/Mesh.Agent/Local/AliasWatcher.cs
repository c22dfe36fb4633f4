using Mesh.Agent.Checks;
using Mesh.State;
using Mesh.State.Tables;

namespace Mesh.Agent.Local;

/// <summary>
/// Runs an alias check of another node (<c>AliasNode</c>, optionally with <c>AliasService</c>): a blocking query on
/// that node's checks in the catalog, reporting the worst of them (the service's and the node's own when a service is
/// named, the node's own otherwise), as Consul's alias check does.
/// </summary>
internal sealed class AliasWatcher : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public AliasWatcher(StateStore store, string node, string? serviceId, Action<CheckResult> report)
    {
        _loop = RunAsync(store, node, serviceId, report, _stop.Token);
    }

    private static async Task RunAsync(StateStore store, string node, string? serviceId, Action<CheckResult> report, CancellationToken ct)
    {
        ulong index = 0;
        CheckResult? last = null;
        while (!ct.IsCancellationRequested)
        {
            (ulong Index, Node? Node, IReadOnlyList<HealthCheck> Checks) answer;
            try
            {
                answer = await store.BlockingQueryAsync(index, TimeSpan.FromMinutes(5), (v, ws) =>
                {
                    var (idx, checks) = v.NodeChecks(node, ws);
                    return (Index: idx, Node: v.GetNode(node), Checks: checks);
                }, a => a.Index, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            // An index that went backwards (a restore) starts over rather than waiting for it to catch up.
            index = answer.Index < index ? 0 : answer.Index;
            var result = Evaluate(node, serviceId, answer.Node, answer.Checks);
            if (result != last) report(result);
            last = result;
        }
    }

    internal static CheckResult Evaluate(string node, string? serviceId, Node? found, IReadOnlyList<HealthCheck> checks)
    {
        if (found is null) return new CheckResult(HealthStatus.Critical, $"Node \"{node}\" could not be found.");
        var relevant = checks.Where(c => c.ServiceID.Length == 0 || (serviceId is not null && c.ServiceID == serviceId)).ToList();
        var status = relevant.Any(c => c.Status is HealthStatus.Critical or HealthStatus.Maintenance) ? HealthStatus.Critical
            : relevant.Any(c => c.Status == HealthStatus.Warning) ? HealthStatus.Warning : HealthStatus.Passing;
        var output = relevant.Count == 0 ? "No checks found." : status == HealthStatus.Passing ? "All checks passing." : $"Aliased {(serviceId is null ? "node" : "service")} has a {status} check.";
        return new CheckResult(status, output);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
