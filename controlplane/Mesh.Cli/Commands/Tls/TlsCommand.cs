namespace Mesh.Cli.Commands.Tls;

/// <summary><c>mesh tls</c> on its own: prints its subcommands and exits 1, as Consul's parent commands do.</summary>
internal sealed class TlsCommand(CliServices services, CommandTable table) : Command(services, Usage)
{
    private const string Usage = """
        Usage: mesh tls <subcommand> <subcommand> [options]

          This command has subcommands for setting up TLS between Mesh agents:
          a CA of your own, and certificates for servers, clients and CLIs.

          Here are some simple examples, and more detailed examples are available
          in the subcommands or the documentation.

          Create a CA:

              $ mesh tls ca create

          Create a server certificate:

              $ mesh tls cert create -server

          Create a client certificate:

              $ mesh tls cert create -client

          For more examples, ask for subcommand help or view the documentation.
        """;

    public override string Synopsis => "Builtin helpers for creating CAs and certificates";

    public override string Help => Flags.Help() + "\n\nSubcommands:\n" + table.SubcommandLines("tls").TrimEnd('\n');

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Err.WriteLine(Help);
        return Task.FromResult(1);
    }
}
