namespace Mesh.Cli.Commands.Tls;

/// <summary><c>mesh tls cert</c> on its own: prints its subcommands and exits 1.</summary>
internal sealed class TlsCertCommand(CliServices services, CommandTable table) : Command(services, Usage)
{
    private const string Usage = """
        Usage: mesh tls cert <subcommand> [options]

          This command has subcommands for creating certificates signed by a CA
          from "mesh tls ca create" (or one of your own).

          Create a server certificate:

              $ mesh tls cert create -server

          Create a certificate with your own CA:

              $ mesh tls cert create -server -ca my-ca.pem -key my-ca-key.pem

          For more examples, ask for subcommand help or view the documentation.
        """;

    public override string Synopsis => "Helpers for certificates";

    public override string Help => Flags.Help() + "\n\nSubcommands:\n" + table.SubcommandLines("tls cert").TrimEnd('\n');

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Err.WriteLine(Help);
        return Task.FromResult(1);
    }
}
