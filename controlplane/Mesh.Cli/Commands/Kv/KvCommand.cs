namespace Mesh.Cli.Commands.Kv;

/// <summary>
/// <c>mesh kv</c> on its own: it only groups the subcommands, so running it prints its help (exit 1), as Consul's
/// parent commands do.
/// </summary>
internal sealed class KvCommand(CliServices services, CommandTable table) : Command(services, Usage)
{
    private const string Usage = """
        Usage: mesh kv <subcommand> [options] [args]

          This command has subcommands for interacting with Mesh's key-value
          store. Here are some simple examples, and more detailed examples are
          available in the subcommands or the documentation.

          Create or update the key named "redis/config/connections" with the value "5":

              $ mesh kv put redis/config/connections 5

          Read this value back:

              $ mesh kv get redis/config/connections

          Or get detailed key information:

              $ mesh kv get -detailed redis/config/connections

          Finally, delete the key:

              $ mesh kv delete redis/config/connections

          For more examples, ask for subcommand help or view the documentation.
        """;

    public override string Synopsis => "Interact with the key-value store";

    public override string Help => Flags.Help() + "\n\nSubcommands:\n" + table.SubcommandLines("kv").TrimEnd('\n');

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Err.WriteLine(Help);
        return Task.FromResult(1);
    }
}
