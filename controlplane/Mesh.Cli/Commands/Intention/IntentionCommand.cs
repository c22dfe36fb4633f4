namespace Mesh.Cli.Commands.Intention;

/// <summary><c>mesh intention</c> on its own: it only groups the subcommands, so it prints its help and exits 1.</summary>
internal sealed class IntentionCommand(CliServices services, CommandTable table) : Command(services, Usage)
{
    private const string Usage = """
        Usage: mesh intention <subcommand> [options] [args]

          This command has subcommands for interacting with intentions. Intentions
          are permissions describing which services are allowed to communicate via
          Connect. Here are some simple examples, and more detailed examples are
          available in the subcommands or the documentation.

          Create an intention to allow "web" to talk to "db":

              $ mesh intention create web db

          Test whether a "web" is allowed to connect to "db":

              $ mesh intention check web db

          Find all intentions for communicating to the "db" service:

              $ mesh intention match db

          For more examples, ask for subcommand help or view the documentation.
        """;

    public override string Synopsis => "Interact with Connect service intentions";

    public override string Help => Flags.Help() + "\n\nSubcommands:\n" + table.SubcommandLines("intention").TrimEnd('\n');

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Err.WriteLine(Help);
        return Task.FromResult(1);
    }
}
