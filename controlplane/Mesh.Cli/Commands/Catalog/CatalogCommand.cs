namespace Mesh.Cli.Commands.Catalog;

/// <summary><c>mesh catalog</c> on its own: prints its subcommands and exits 1, as Consul's parent commands do.</summary>
internal sealed class CatalogCommand(CliServices services, CommandTable table) : Command(services, Usage)
{
    private const string Usage = """
        Usage: mesh catalog <subcommand> [options] [args]

          This command has subcommands for interacting with Mesh's catalog. The
          catalog should not be confused with the agent, although the APIs and
          responses may be similar.

          Here are some simple examples, and more detailed examples are available
          in the subcommands or the documentation.

          List all datacenters:

              $ mesh catalog datacenters

          List all nodes:

              $ mesh catalog nodes

          List all services:

              $ mesh catalog services

          For more examples, ask for subcommand help or view the documentation.
        """;

    public override string Synopsis => "Interact with the catalog";

    public override string Help => Flags.Help() + "\n\nSubcommands:\n" + table.SubcommandLines("catalog").TrimEnd('\n');

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Err.WriteLine(Help);
        return Task.FromResult(1);
    }
}
