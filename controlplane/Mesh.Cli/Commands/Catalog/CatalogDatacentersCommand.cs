using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Catalog;

/// <summary><c>mesh catalog datacenters</c>: one known datacenter per line, nearest first.</summary>
internal sealed class CatalogDatacentersCommand : Command
{
    private const string Usage = """
        Usage: mesh catalog datacenters [options]

          Retrieves the list of all known datacenters. This datacenters are sorted in
          ascending order based on the estimated median round trip time from the servers
          in this datacenter to the servers in the other datacenters.

          To retrieve the list of datacenters:

              $ mesh catalog datacenters

          For a full list of options and examples, please see the Mesh documentation.
        """;

    private readonly HttpOptions _http;

    public CatalogDatacentersCommand(CliServices services) : base(services, Usage) =>
        _http = HttpOptions.Register(Flags, serverFlags: true);

    public override string Synopsis => "Lists all known datacenters";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (!CatalogArgs.NoneLeft(ctx, Flags.Args)) return 1;
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        List<string> datacenters;
        try
        {
            datacenters = await client.Catalog.DatacentersAsync(ctx.Cancellation);
        }
        catch (ApiException e)
        {
            // Consul prints this and still exits 0 (it falls through); a failed listing is an error here.
            ctx.Err.WriteLine($"Error listing datacenters: {e.Message}");
            return 1;
        }
        foreach (var dc in datacenters) ctx.Out.WriteLine(dc);
        return 0;
    }
}

/// <summary>Checks shared by the catalog list commands.</summary>
internal static class CatalogArgs
{
    /// <summary>The list commands take no positional arguments; Consul's message when some are given.</summary>
    public static bool NoneLeft(CliContext ctx, IReadOnlyList<string> args)
    {
        if (args.Count == 0) return true;
        ctx.Err.WriteLine($"Too many arguments (expected 0, got {args.Count})");
        return false;
    }
}
