using Mesh.State.Tables;
namespace Mesh.Agent.Checks;

/// <summary>
/// Consul's <c>StatusHandler</c>: a probe result changes the reported status only after enough consecutive results
/// of its kind. Both counters start at their thresholds, so the very first result is reported at once; passing and
/// warning count as successes. Not thread-safe: one monitor loop feeds it.
/// </summary>
internal sealed class StatusThresholds
{
    private readonly int _successBeforePassing;
    private readonly int _failuresBeforeCritical;
    private int _successes;
    private int _failures;

    public StatusThresholds(int successBeforePassing, int failuresBeforeCritical)
    {
        _successBeforePassing = successBeforePassing;
        _failuresBeforeCritical = failuresBeforeCritical;
        _successes = successBeforePassing;
        _failures = failuresBeforeCritical;
    }

    /// <summary>True when <paramref name="result"/> should be reported; false while a threshold holds it back.</summary>
    public bool Admit(CheckResult result, out int count, out int threshold)
    {
        if (result.Status is HealthStatus.Passing or HealthStatus.Warning)
        {
            _successes++;
            _failures = 0;
            count = _successes;
            threshold = _successBeforePassing;
            return _successes >= _successBeforePassing;
        }

        _failures++;
        _successes = 0;
        count = _failures;
        threshold = _failuresBeforeCritical;
        return _failures >= _failuresBeforeCritical;
    }
}
