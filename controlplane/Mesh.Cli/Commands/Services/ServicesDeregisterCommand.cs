using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Services;

/// <summary>
/// <c>mesh services deregister</c>: removes services from the local agent, by <c>-id</c> or by the definitions in
/// the files they were registered from (each file service's ID, or its name when it has none).
/// </summary>
internal sealed class ServicesDeregisterCommand : Command
{
    private const string Usage = """
        Usage: mesh services deregister [options] [FILE...]

          Deregister one or more services that were previously registered with
          the local agent.

              $ mesh services deregister web.json db.json

          The -id flag may be used to deregister a single service by ID:

              $ mesh services deregister -id=web

          Services are deregistered from the local agent catalog. This command must
          be run against the same agent where the service was registered.
        """;

    private readonly Func<string> _id;
    private readonly HttpOptions _http;

    public ServicesDeregisterCommand(CliServices services) : base(services, Usage)
    {
        _id = Flags.String("id", "", "ID to delete. This must not be set if arguments are given.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Deregister services with the local agent";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var files = Flags.Args;
        if (files.Count == 0 && _id().Length == 0)
        {
            ctx.Err.WriteLine("Service deregistration requires at least one argument or -id.");
            return 1;
        }
        if (files.Count > 0 && _id().Length > 0)
        {
            ctx.Err.WriteLine("Service deregistration requires arguments or -id, not both.");
            return 1;
        }

        List<(string Id, string Name)> targets;
        if (files.Count > 0)
        {
            try
            {
                targets = ServiceDefinitions.Load(files)
                    .Select(d => (ServiceDefinitions.IdOf(d), ServiceDefinitions.StringOf(d, "Name"))).ToList();
            }
            catch (InvalidDataException e)
            {
                ctx.Err.WriteLine($"Error: {e.Message}");
                return 1;
            }
        }
        else
        {
            targets = [(_id(), "")];
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        foreach (var (id, name) in targets)
        {
            // A definition with neither ID nor name names nothing to remove; Consul skips it too.
            if (id.Length == 0) continue;
            try
            {
                await client.Agent.ServiceDeregisterAsync(id, ctx.Cancellation);
            }
            catch (ApiException e)
            {
                ctx.Err.WriteLine($"Error deregistering service \"{name}\": {e.Message}");
                return 1;
            }
            ctx.Out.WriteLine($"Deregistered service: {id}");
        }
        return 0;
    }
}
