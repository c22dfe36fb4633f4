namespace Mesh.Cli.Commands.Connect;

/// <summary><c>mesh connect</c> and <c>mesh connect ca</c> on their own: print their subcommands and exit 1.</summary>
internal sealed class ConnectCommand(CliServices services, CommandTable table, string path) : Command(services, path == "connect" ? Usage : CaUsage)
{
    private const string Usage = """
        Usage: mesh connect <subcommand> [options] [args]

          This command has subcommands for working with Connect, the service mesh.

          Show the CA configuration:

              $ mesh connect ca get-config

          Run an Envoy sidecar proxy for the local service instance "web":

              $ mesh connect envoy -sidecar-for web

          Run the native sidecar proxy (no Envoy needed) for the same instance:

              $ mesh connect proxy -sidecar-for web

          For more examples, ask for subcommand help or view the documentation.
        """;

    private const string CaUsage = """
        Usage: mesh connect ca <subcommand> [options] [args]

          This command has subcommands for reading and changing the Connect CA
          configuration.

          Show the CA configuration:

              $ mesh connect ca get-config

          Change it (a new key type rotates the root):

              $ mesh connect ca set-config -config-file ca.json

          For more examples, ask for subcommand help or view the documentation.
        """;

    public override string Synopsis => path == "connect" ? "Interact with Connect, the service mesh" : "Interact with the Connect Certificate Authority (CA)";

    public override string Help => Flags.Help() + "\n\nSubcommands:\n" + table.SubcommandLines(path).TrimEnd('\n');

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Err.WriteLine(Help);
        return Task.FromResult(1);
    }
}
