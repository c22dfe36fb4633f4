namespace Mesh.Cli.Commands.Config;

/// <summary><c>mesh config</c> on its own: it only groups the subcommands, so it prints its help and exits 1.</summary>
internal sealed class ConfigCommand(CliServices services, CommandTable table) : Command(services, Usage)
{
    private const string Usage = """
        Usage: mesh config <subcommand> [options] [args]

          This command has subcommands for interacting with Mesh's centralized
          configuration entries (service-defaults, proxy-defaults, service-resolver,
          service-splitter, service-router and service-intentions). Here are some
          simple examples, and more detailed examples are available in the
          subcommands or the documentation.

          Write a config entry:

              $ mesh config write web-defaults.json

          Read a config entry:

              $ mesh config read -kind service-defaults -name web

          List all config entries of a kind:

              $ mesh config list -kind service-defaults

          Delete a config entry:

              $ mesh config delete -kind service-defaults -name web

          For more examples, ask for subcommand help or view the documentation.
        """;

    public override string Synopsis => "Interact with Mesh's centralized configurations";

    public override string Help => Flags.Help() + "\n\nSubcommands:\n" + table.SubcommandLines("config").TrimEnd('\n');

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Err.WriteLine(Help);
        return Task.FromResult(1);
    }
}
