using Mesh.Cli.Flags;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands;

/// <summary>
/// One CLI command: its flags, help and behaviour. A fresh instance runs each invocation (as Consul's command
/// factories do), so flag values can live in fields.
/// </summary>
internal abstract class Command
{
    protected Command(CliServices services, string usage)
    {
        Services = services;
        Flags = new FlagSet(usage);
    }

    protected CliServices Services { get; }

    /// <summary>The command's flags; subclasses register theirs in their constructor.</summary>
    public FlagSet Flags { get; }

    /// <summary>One line for the command list.</summary>
    public abstract string Synopsis { get; }

    /// <summary>The full help: usage text and flags.</summary>
    public virtual string Help => Flags.Help();

    /// <summary>
    /// Parses flags and runs. <c>-h</c> prints the help to stdout and exits 0; a bad flag prints the error and the
    /// help to stderr and exits 1, as Consul's commands do.
    /// </summary>
    public async Task<int> RunAsync(CliContext ctx, IReadOnlyList<string> args)
    {
        try
        {
            Flags.Parse(args);
        }
        catch (HelpRequestedException)
        {
            ctx.Out.WriteLine(Help);
            return 0;
        }
        catch (FlagException e)
        {
            ctx.Err.WriteLine(e.Message);
            ctx.Err.WriteLine(Help);
            return FlagErrorExitCode;
        }
        return await ExecuteAsync(ctx).ConfigureAwait(false);
    }

    /// <summary>
    /// The exit code of a flag that does not parse: 1, except where Consul's command gives 1 another meaning
    /// (<c>intention check</c>: denied).
    /// </summary>
    protected virtual int FlagErrorExitCode => 1;

    /// <summary>The command's work, after its flags are parsed into <see cref="Flags"/>.</summary>
    protected abstract Task<int> ExecuteAsync(CliContext ctx);

    /// <summary>
    /// Builds the API client from the shared HTTP flags, or prints Consul's "Error connecting to ... agent" and
    /// returns null when the address or token settings are unusable.
    /// </summary>
    protected ApiClient? CreateClient(CliContext ctx, HttpOptions http)
    {
        try
        {
            return new ApiClient(http.Resolve(ctx), Services.Handler);
        }
        catch (Exception e) when (e is ArgumentException or IOException or System.Security.Cryptography.CryptographicException)
        {
            ctx.Err.WriteLine($"Error connecting to Mesh agent: {e.Message}");
            return null;
        }
    }
}
