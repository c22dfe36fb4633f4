using System.Security.Cryptography;

namespace Mesh.Cli.Commands.Keygen;

/// <summary><c>mesh keygen</c>: a new 32-byte gossip encryption key, base64, as <c>-encrypt</c> expects it.</summary>
internal sealed class KeygenCommand(CliServices services) : Command(services, Usage)
{
    private const string Usage = """
        Usage: mesh keygen

          Generates a new 32-byte encryption key that can be used to configure the
          agent to encrypt traffic. The output of this command is already
          in the proper format that the agent expects.
        """;

    public override string Synopsis => "Generates a new encryption key";

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        ctx.Out.WriteLine(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        return Task.FromResult(0);
    }
}
