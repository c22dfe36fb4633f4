using System.ComponentModel;
using System.Globalization;
using System.Text;
using Mesh.Cli.Http;
using Mesh.Cli.Processes;
using Mesh.Cli.Watches;

namespace Mesh.Cli.Commands.Watch;

/// <summary>
/// <c>mesh watch</c>: follows a view with blocking queries. Without a handler it prints the first result as JSON
/// and exits; with one it runs the handler with the result on stdin at the first result and at every change, as
/// <c>consul watch</c> does.
/// </summary>
internal sealed class WatchCommand : Command
{
    private const string Usage = """
        Usage: mesh watch [options] [child...]

          Watches for changes in a given data view from Mesh. If a child process
          is specified, it will be invoked with the latest results on changes. Otherwise,
          the latest values are dumped to stdout and the watch terminates.

          Providing the watch type is required, and other parameters may be required
          or supported depending on the watch type.
        """;

    private readonly Func<string> _type, _key, _prefix, _service, _passingOnly, _state, _name, _filter;
    private readonly Func<IReadOnlyList<string>> _tags;
    private readonly Func<bool> _shell;
    private readonly HttpOptions _http;

    public WatchCommand(CliServices services) : base(services, Usage)
    {
        _type = Flags.String("type", "",
            "Specifies the watch type. One of key, keyprefix, services, nodes, service, checks, or event.");
        _key = Flags.String("key", "", "Specifies the key to watch. Only for 'key' type.");
        _prefix = Flags.String("prefix", "", "Specifies the key prefix to watch. Only for 'keyprefix' type.");
        _service = Flags.String("service", "",
            "Specifies the service to watch. Required for 'service' type, optional for 'checks' type.");
        _tags = Flags.List("tag",
            "Specifies the service tag(s) to filter on. Optional for 'service' type. May be specified multiple times");
        _passingOnly = Flags.String("passingonly", "",
            "Specifies if only hosts passing all checks are displayed. Optional for 'service' type, must be one of " +
            "`[true|false]`. Defaults false.");
        _shell = Flags.Bool("shell", true,
            "Use a shell to run the command (can set a custom shell via the SHELL environment variable).");
        _state = Flags.String("state", "", "Specifies the states to watch. Optional for 'checks' type.");
        _name = Flags.String("name", "", "Specifies an event name to watch. Only for 'event' type.");
        _filter = Flags.String("filter", "", "Filter to use with the request");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Watch for changes in Mesh";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (_type().Length == 0)
        {
            ctx.Err.WriteLine("Watch type must be specified");
            ctx.Err.WriteLine();
            ctx.Err.WriteLine(Help);
            return 1;
        }
        bool? passingOnly = null;
        if (_passingOnly().Length > 0)
        {
            if (!TryParseGoBool(_passingOnly(), out var b))
            {
                ctx.Err.WriteLine($"Failed to parse passingonly flag: strconv.ParseBool: parsing \"{_passingOnly()}\": invalid syntax");
                return 1;
            }
            passingOnly = b;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        Watcher watcher;
        bool monotonic;
        try
        {
            (watcher, monotonic) = Watchers.Create(_type(), new Watchers.Parameters
            {
                Key = _key(),
                Prefix = _prefix(),
                Service = _service(),
                Tags = _tags(),
                PassingOnly = passingOnly,
                State = _state(),
                Name = _name(),
                Filter = _filter(),
                Stale = _http.Stale,
            }, client);
        }
        catch (ArgumentException e)
        {
            ctx.Err.WriteLine(e.Message);
            return 1;
        }

        // Fail fast on a wrong address instead of retrying forever in the loop.
        try
        {
            await client.Agent.LeaderAsync(ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error querying Mesh agent: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (ctx.Cancellation.IsCancellationRequested)
        {
            return 0;
        }

        var exitCode = 0;
        var handlerArgs = Flags.Args;
        Func<WatchResult, Task<bool>> handler = handlerArgs.Count == 0
            ? result =>
            {
                ctx.Out.WriteLine(result.Indented);
                return Task.FromResult(false);
            }
            : async result =>
            {
                if (await RunHandlerAsync(ctx, handlerArgs, result)) return true;
                exitCode = 1;
                return false;
            };

        var plan = new WatchPlan(_type(), watcher, monotonic, Services.WatchTimings);
        await plan.RunAsync(handler, ctx.Err, ctx.Cancellation);
        return exitCode;
    }

    /// <summary>Runs the handler with the result on stdin; false (after reporting) when it could not run or failed.</summary>
    private async Task<bool> RunHandlerAsync(CliContext ctx, IReadOnlyList<string> args, WatchResult result)
    {
        var index = result.Index.ToString(CultureInfo.InvariantCulture);
        ChildProcess process;
        try
        {
            process = ChildProcess.Start(ctx, args, _shell(),
                new Dictionary<string, string> { ["CONSUL_INDEX"] = index, ["MESH_INDEX"] = index },
                stdinData: Encoding.UTF8.GetBytes(result.Compact + "\n"));
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException)
        {
            ctx.Err.WriteLine($"Error starting handler: {e.Message}");
            return false;
        }
        using (process)
        {
            var code = await process.Completed;
            if (code == 0) return true;
            ctx.Err.WriteLine($"Error executing handler: exit status {code}");
            return false;
        }
    }

    private static bool TryParseGoBool(string s, out bool value)
    {
        switch (s)
        {
            case "1" or "t" or "T" or "TRUE" or "true" or "True":
                value = true;
                return true;
            case "0" or "f" or "F" or "FALSE" or "false" or "False":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }
}
