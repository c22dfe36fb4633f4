namespace Mesh.Agent.Checks;

/// <summary>One kind of health probe (HTTP, TCP, UDP, script, gRPC): runs once and says what it saw.</summary>
public interface ICheckProbe
{
    /// <summary>
    /// Runs the probe once. The probe bounds itself by its check's timeout and reports a timeout as a critical result;
    /// it throws <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    Task<CheckResult> ProbeAsync(CancellationToken cancellationToken);
}
