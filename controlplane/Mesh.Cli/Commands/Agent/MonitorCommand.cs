using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Agent;

/// <summary><c>mesh monitor</c>: streams the agent's log (<c>GET /v1/agent/monitor</c>) until Ctrl-C or the agent goes away.</summary>
internal sealed class MonitorCommand : Command
{
    private const string Usage = """
        Usage: mesh monitor [options]

          Shows recent log messages of a Mesh agent, and attaches to the agent,
          outputting log messages as they occur in real time. The monitor lets you
          listen for log levels that may be filtered out of the Mesh agent. For
          example your agent may only be logging at INFO level, but with the monitor
          you can see the DEBUG level logs.
        """;

    private readonly Func<string> _logLevel;
    private readonly Func<bool> _logJson;
    private readonly HttpOptions _http;

    public MonitorCommand(CliServices services) : base(services, Usage)
    {
        _logLevel = Flags.String("log-level", "INFO", "Log level of the agent.");
        _logJson = Flags.Bool("log-json", false, "Output logs in JSON format.");
        _http = HttpOptions.Register(Flags, serverFlags: false);
    }

    public override string Synopsis => "Stream logs from a Mesh agent";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        IAsyncEnumerable<string> lines;
        try
        {
            lines = await client.Agent.MonitorAsync(_logLevel(), _logJson(), ctx.Cancellation);
        }
        catch (OperationCanceledException) when (ctx.Cancellation.IsCancellationRequested)
        {
            return 0;
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error starting monitor: {e.Message}");
            return 1;
        }
        try
        {
            await foreach (var line in lines.WithCancellation(ctx.Cancellation))
            {
                ctx.Out.WriteLine(line);
                ctx.Out.Flush();
            }
        }
        catch (OperationCanceledException) when (ctx.Cancellation.IsCancellationRequested)
        {
            // Ctrl-C: the user is done watching.
            return 0;
        }
        ctx.Out.WriteLine();
        ctx.Out.WriteLine("Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.");
        return 1;
    }
}
