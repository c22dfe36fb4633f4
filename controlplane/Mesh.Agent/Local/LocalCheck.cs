using Mesh.Agent.Checks;
using Mesh.State.Tables;

namespace Mesh.Agent.Local;

/// <summary>A check the agent owns: its definition, how it is run, and its current state.</summary>
internal sealed class LocalCheck
{
    public required CheckDefinition Definition { get; init; }

    /// <summary>For alias checks: the local service whose health this check mirrors.</summary>
    public string? AliasService { get; init; }

    /// <summary>The check's type as the catalog shows it (<c>http</c>, <c>ttl</c>, <c>alias</c>...).</summary>
    public required string Type { get; init; }

    public required HealthCheck Row { get; set; }

    /// <summary>When the check last became critical; null while it is not.</summary>
    public DateTime? CriticalSince { get; set; }

    public CheckMonitor? Monitor { get; set; }

    public TtlCheck? Ttl { get; set; }

    public string ID => Row.CheckID;
}
