using Mesh.Agent.Config;

namespace Mesh.Cli.Commands.Agent;

/// <summary><c>mesh validate &lt;file-or-dir&gt;...</c>: checks config files without starting an agent.</summary>
internal sealed class ValidateCommand : Command
{
    private const string Usage = """
        Usage: mesh validate [options] FILE_OR_DIRECTORY...

          Performs a thorough sanity test on Mesh configuration files. For each file
          or directory given, the validate command will attempt to parse the contents
          just as the "mesh agent" command would, and catch any errors.

          This is useful to do a test of the configuration only, without actually
          starting the agent.
        """;

    private readonly Func<bool> _quiet;

    public ValidateCommand(CliServices services) : base(services, Usage) =>
        _quiet = Flags.Bool("quiet", false, "When given, a successful run will produce no output.");

    public override string Synopsis => "Validate config files/directories";

    protected override Task<int> ExecuteAsync(CliContext ctx)
    {
        if (Flags.Args.Count == 0)
        {
            ctx.Err.WriteLine("Must specify at least one config file or directory");
            return Task.FromResult(1);
        }
        try
        {
            var config = ConfigLoader.ApplyPaths(new AgentConfig(), Flags.Args);
            ConfigLoader.ValidateDefinitions(config);
        }
        catch (ConfigException e)
        {
            ctx.Err.WriteLine($"Config validation failed: {e.Message}");
            return Task.FromResult(1);
        }
        if (!_quiet()) ctx.Out.WriteLine("Configuration is valid!");
        return Task.FromResult(0);
    }
}
