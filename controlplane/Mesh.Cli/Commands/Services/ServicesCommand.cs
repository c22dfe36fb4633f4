namespace Mesh.Cli.Commands.Services;

/// <summary><c>mesh services</c> on its own: prints its subcommands and exits 1, as Consul's parent commands do.</summary>
internal sealed class ServicesCommand(CliServices services, CommandTable table) : Command(services, Usage)
{
    private const string Usage = """
        Usage: mesh services <subcommand> [options] [args]

          This command has subcommands for interacting with services. The subcommands
          default to working with services registered with the local agent.

          To register a simple service:

              $ mesh services register -name=web

          To deregister a service:

              $ mesh services deregister -id=web

          For more examples, ask for subcommand help or view the documentation.
        """;

    public override string Synopsis => "Interact with services";

    public override string Help => Flags.Help() + "\n\nSubcommands:\n" + table.SubcommandLines("services").TrimEnd('\n');

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Err.WriteLine(Help);
        return Task.FromResult(1);
    }
}
