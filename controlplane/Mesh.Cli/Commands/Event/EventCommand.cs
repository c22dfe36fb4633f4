using System.Text;
using System.Text.RegularExpressions;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Event;

/// <summary><c>mesh event</c>: fires a user event (<c>PUT /v1/event/fire/&lt;name&gt;</c>).</summary>
internal sealed class EventCommand : Command
{
    private const string Usage = """
        Usage: mesh event [options] [payload]

          Dispatches a custom user event across a datacenter. An event must provide
          a name, but a payload is optional. Events support filtering using
          regular expressions on node name, service, and tag definitions.
        """;

    private readonly Func<string> _name, _node, _service, _tag;
    private readonly HttpOptions _http;

    public EventCommand(CliServices services) : base(services, Usage)
    {
        _name = Flags.String("name", "", "Name of the event.");
        _node = Flags.String("node", "", "Regular expression to filter on node names.");
        _service = Flags.String("service", "", "Regular expression to filter on service instances.");
        _tag = Flags.String("tag", "", "Regular expression to filter on service tags. Must be used with -service.");
        _http = HttpOptions.Register(Flags, serverFlags: false);
    }

    public override string Synopsis => "Fire a new event";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (_name().Length == 0)
        {
            ctx.Err.WriteLine("Event name must be specified");
            ctx.Err.WriteLine();
            ctx.Err.WriteLine(Help);
            return 1;
        }
        foreach (var (what, pattern) in new[] { ("node", _node()), ("service", _service()), ("tag", _tag()) })
        {
            if (pattern.Length == 0) continue;
            try
            {
                _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                ctx.Err.WriteLine($"Failed to compile {what} filter regexp: {e.Message}");
                return 1;
            }
        }
        if (_tag().Length > 0 && _service().Length == 0)
        {
            ctx.Err.WriteLine("Cannot provide tag filter without service filter.");
            return 1;
        }
        byte[]? payload = null;
        switch (Flags.Args.Count)
        {
            case 0:
                break;
            case 1:
                payload = Encoding.UTF8.GetBytes(Flags.Args[0]);
                break;
            default:
                ctx.Err.WriteLine("Too many command line arguments.");
                ctx.Err.WriteLine();
                ctx.Err.WriteLine(Help);
                return 1;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        try
        {
            await client.Agent.NodeNameAsync(ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error querying Mesh agent: {e.Message}");
            return 1;
        }
        try
        {
            var fired = await client.Event.FireAsync(_name(), payload, _node(), _service(), _tag(), ctx.Cancellation);
            ctx.Out.WriteLine($"Event ID: {fired.ID}");
            return 0;
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error firing event: {e.Message}");
            return 1;
        }
    }
}
