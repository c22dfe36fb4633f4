using Mesh.Agent.Checks;
using Mesh.State.Tables;

namespace Mesh.Agent.Local;

/// <summary>A check the agent owns: its definition, how it is run, and its current state.</summary>
internal sealed class LocalCheck
{
    public required CheckDefinition Definition { get; init; }

    /// <summary>For alias checks of this node: the local service whose health this check mirrors.</summary>
    public string? AliasService { get; init; }

    /// <summary>For alias checks of another node: the node, and optionally a service on it (in <see cref="AliasService"/>'s place).</summary>
    public string? AliasNode { get; init; }

    public string? RemoteAliasService { get; init; }

    public AliasWatcher? Alias { get; set; }

    /// <summary>The check's type as the catalog shows it (<c>http</c>, <c>ttl</c>, <c>alias</c>...).</summary>
    public required string Type { get; init; }

    public required HealthCheck Row { get; set; }

    /// <summary>When the check last became critical; null while it is not.</summary>
    public DateTime? CriticalSince { get; set; }

    public CheckMonitor? Monitor { get; set; }

    public TtlCheck? Ttl { get; set; }

    public string ID => Row.CheckID;
}
