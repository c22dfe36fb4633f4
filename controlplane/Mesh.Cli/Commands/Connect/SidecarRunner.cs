using Mesh.Sidecar.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Mesh.Cli.Commands.Connect;

/// <summary>How <c>connect proxy</c> runs the native sidecar (tests substitute one built from fakes).</summary>
internal interface ISidecarRunner
{
    /// <summary>Runs the sidecar until <see cref="CliContext.Cancellation"/> (SIGINT/SIGTERM), drains, and returns the exit code.</summary>
    Task<int> RunAsync(CliContext ctx, SidecarOptions options);
}

/// <summary>
/// Runs a <see cref="SidecarHost"/> made by a composition function (<see cref="SidecarHost.Create(SidecarOptions, ILoggerFactory)"/> with the
/// translator, cluster manager, HTTP proxy and listener manager), logging to the console at the options' level.
/// </summary>
/// <param name="compose">Builds the host (<see cref="SidecarHost.Create(SidecarOptions, ILoggerFactory)"/>; tests pass fakes).</param>
internal sealed class SidecarRunner(Func<SidecarOptions, ILoggerFactory, SidecarHost> compose) : ISidecarRunner
{
    /// <inheritdoc/>
    public async Task<int> RunAsync(CliContext ctx, SidecarOptions options)
    {
        using var loggerFactory = LoggerFactory.Create(b =>
        {
            b.ClearProviders();
            b.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
            b.SetMinimumLevel(options.LogLevel);
            b.AddFilter("Microsoft", LogLevel.Warning);
            b.AddFilter("System", LogLevel.Warning);
        });
        try
        {
            await using var host = compose(options, loggerFactory);
            await host.RunAsync(ctx.Cancellation).ConfigureAwait(false);
            return 0;
        }
        catch (SidecarStartException e)
        {
            ctx.Err.WriteLine($"Error starting the sidecar proxy: {e.Message}");
            return 1;
        }
    }
}
