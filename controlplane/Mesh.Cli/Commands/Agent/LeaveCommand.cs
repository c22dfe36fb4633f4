using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Agent;

/// <summary><c>mesh leave</c>: asks the agent to leave the cluster and shut down.</summary>
internal sealed class LeaveCommand : Command
{
    private const string Usage = """
        Usage: mesh leave [options]

          Causes the agent to gracefully leave the Mesh cluster and shutdown.
        """;

    private readonly HttpOptions _http;

    public LeaveCommand(CliServices services) : base(services, Usage) => _http = HttpOptions.Register(Flags, serverFlags: false);

    public override string Synopsis => "Gracefully leaves the Mesh cluster and shuts down";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (Flags.Args.Count > 0)
        {
            ctx.Err.WriteLine($"Error found unexpected args: [{string.Join(' ', Flags.Args)}]");
            ctx.Out.WriteLine(Help);
            return 1;
        }
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        try
        {
            await client.Agent.LeaveAsync(ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error leaving: {e.Message}");
            return 1;
        }
        ctx.Out.WriteLine("Graceful leave complete");
        return 0;
    }
}
