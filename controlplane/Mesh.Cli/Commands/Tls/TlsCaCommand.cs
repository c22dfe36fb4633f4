namespace Mesh.Cli.Commands.Tls;

/// <summary><c>mesh tls ca</c> on its own: prints its subcommands and exits 1.</summary>
internal sealed class TlsCaCommand(CliServices services, CommandTable table) : Command(services, Usage)
{
    private const string Usage = """
        Usage: mesh tls ca <subcommand> [options]

          This command has subcommands for creating certificate authorities for
          TLS between Mesh agents.

          Create a CA:

              $ mesh tls ca create
              ==> Saved consul-agent-ca.pem
              ==> Saved consul-agent-ca-key.pem

          For more examples, ask for subcommand help or view the documentation.
        """;

    public override string Synopsis => "Helpers for CAs";

    public override string Help => Flags.Help() + "\n\nSubcommands:\n" + table.SubcommandLines("tls ca").TrimEnd('\n');

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Err.WriteLine(Help);
        return Task.FromResult(1);
    }
}
