namespace Mesh.Cli.Commands;

/// <summary>
/// Placeholder for <c>mesh agent</c> on the CLI branch: the agent itself is written on main and replaces this
/// file when the branches merge.
/// </summary>
internal static class AgentCommand
{
    /// <summary>Reports that the agent is not part of this build and exits 1.</summary>
    public static Task<int> RunAsync(CliContext ctx, IReadOnlyList<string> args)
    {
        ctx.Err.WriteLine("agent: not merged yet");
        return Task.FromResult(1);
    }
}
