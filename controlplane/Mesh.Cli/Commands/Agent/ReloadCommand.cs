using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Agent;

/// <summary><c>mesh reload</c>: asks the agent to read its config files again.</summary>
internal sealed class ReloadCommand : Command
{
    private const string Usage = """
        Usage: mesh reload [options]

          Causes the agent to reload configurations. This can be used instead
          of sending the SIGHUP signal to the agent.
        """;

    private readonly HttpOptions _http;

    public ReloadCommand(CliServices services) : base(services, Usage) => _http = HttpOptions.Register(Flags, serverFlags: false);

    public override string Synopsis => "Triggers the agent to reload configuration files";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        try
        {
            await client.Agent.ReloadAsync(ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error reloading: {e.Message}");
            return 1;
        }
        ctx.Out.WriteLine("Configuration reload triggered");
        return 0;
    }
}
