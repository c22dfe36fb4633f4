using Mesh.State.Tables;

namespace Mesh.Agent.Checks;

/// <summary>One observation of a check: its status and the output shown next to it.</summary>
/// <param name="Status">One of <see cref="HealthStatus"/>'s values.</param>
/// <param name="Output">What the probe saw, at most about <see cref="CheckOutput.MaxSize"/> bytes.</param>
public sealed record CheckResult(string Status, string Output);
