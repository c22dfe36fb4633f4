using Mesh.State.Text;
using Mesh.Agent.Config;
using Mesh.Cli.Http;
using Mesh.Cli.Text;

namespace Mesh.Cli.Watches;

/// <summary>
/// The blocking-query loop of a watch (Consul's <c>watch.Plan.Run</c>): query with the last index, skip answers
/// whose index or content did not change, hand real changes (and the first answer) to the handler, and back off
/// quadratically after errors instead of hammering the agent. Index rules from Consul's blocking-query guidance:
/// an index that went backwards resets to 0 (the store was restored or a different server answered), and an index
/// of 0 is replaced by 1 so the next query still blocks. After an error the index restarts from 0, as in Consul.
/// </summary>
internal sealed class WatchPlan
{
    private readonly string _type;
    private readonly Watcher _watcher;
    private readonly bool _monotonicIndex;
    private readonly WatchTimings _timings;

    /// <param name="type">The watch type, for error messages.</param>
    /// <param name="watcher">Fetches the view.</param>
    /// <param name="monotonicIndex">
    /// False for views whose index is not a counter (events: the index is derived from the newest event's ID),
    /// which therefore must not be reset when it "goes backwards".
    /// </param>
    /// <param name="timings">Back-off after errors.</param>
    public WatchPlan(string type, Watcher watcher, bool monotonicIndex, WatchTimings timings)
    {
        _type = type;
        _watcher = watcher;
        _monotonicIndex = monotonicIndex;
        _timings = timings;
    }

    /// <summary>
    /// Runs until <paramref name="ct"/> fires or <paramref name="handler"/> returns false. Errors are logged to
    /// <paramref name="log"/> and retried.
    /// </summary>
    public async Task RunAsync(Func<WatchResult, Task<bool>> handler, TextWriter log, CancellationToken ct)
    {
        ulong? lastIndex = null;
        string? lastResult = null;
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            WatchResult result;
            try
            {
                result = await _watcher(lastIndex ?? 0, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (ApiException e)
            {
                failures++;
                lastIndex = null;
                var retry = _timings.RetryInterval * ((double)failures * failures);
                if (retry > _timings.MaxBackoff) retry = _timings.MaxBackoff;
                log.WriteLine($"[ERR] mesh.watch: Watch (type: {_type}) errored: {e.Message}, retry in {GoDuration.Format(retry)}");
                try
                {
                    await Task.Delay(retry, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            failures = 0;

            // Same index: the blocking query timed out without a change.
            if (lastIndex is { } previous && previous == result.Index) continue;

            lastIndex = NextIndex(lastIndex, result.Index);
            // Unlike Consul's plan, which forgets the last result after an error and so re-runs the handler with
            // unchanged data, the result survives errors: a transient failure must not look like a change.
            if (lastResult is not null && lastResult == result.Compact) continue;

            lastResult = result.Compact;
            if (!await handler(result).ConfigureAwait(false)) return;
        }
    }

    private ulong NextIndex(ulong? previous, ulong index)
    {
        if (index == 0) return 1;
        if (_monotonicIndex && previous is { } p && index < p) return 0;
        return index;
    }
}
