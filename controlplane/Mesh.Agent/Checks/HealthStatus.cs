namespace Mesh.Agent.Checks;

/// <summary>The health states a check reports, spelled as Consul's API spells them.</summary>
public static class HealthStatus
{
    /// <summary>The check succeeded.</summary>
    public const string Passing = "passing";

    /// <summary>The check succeeded with a warning (HTTP 429, script exit 1).</summary>
    public const string Warning = "warning";

    /// <summary>The check failed.</summary>
    public const string Critical = "critical";

    /// <summary>True for the three states a check may be registered or updated with.</summary>
    public static bool IsValid(string? status) => status is Passing or Warning or Critical;
}

/// <summary>One observation of a check: its status and the output shown next to it.</summary>
/// <param name="Status">One of <see cref="HealthStatus"/>'s values.</param>
/// <param name="Output">What the probe saw, at most about <see cref="CheckOutput.MaxSize"/> bytes.</param>
public sealed record CheckResult(string Status, string Output);
