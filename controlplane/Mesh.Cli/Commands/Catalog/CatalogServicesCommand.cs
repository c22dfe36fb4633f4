using Mesh.Cli.Commands.Kv;
using Mesh.Cli.Http;
using Mesh.Cli.Text;

namespace Mesh.Cli.Commands.Catalog;

/// <summary>
/// <c>mesh catalog services</c>: service names one per line, sorted (or those on <c>-node</c>), <c>-tags</c>
/// adding each service's sorted tags in a second column.
/// </summary>
internal sealed class CatalogServicesCommand : Command
{
    private const string Usage = """
        Usage: mesh catalog services [options]

          Retrieves the list services registered in a given datacenter. By default, the
          datacenter of the local agent is queried.

          To retrieve the list of services:

              $ mesh catalog services

          To include the services' tags in the output:

              $ mesh catalog services -tags

          To list services which run on a particular node:

              $ mesh catalog services -node=web

          To filter services on node metadata:

              $ mesh catalog services -node-meta="foo=bar"

          For a full list of options and examples, please see the Mesh documentation.
        """;

    private readonly Func<string> _node, _filter;
    private readonly Func<bool> _tags;
    private readonly Func<IReadOnlyDictionary<string, string>> _nodeMeta;
    private readonly HttpOptions _http;

    public CatalogServicesCommand(CliServices services) : base(services, Usage)
    {
        _node = Flags.String("node", "", "Node `id or name` for which to list services.");
        _nodeMeta = Flags.Map("node-meta",
            "Metadata to filter nodes with the given `key=value` pairs. If specified, only services running on nodes " +
            "matching the given metadata will be returned. This flag may be specified multiple times to filter on " +
            "multiple sources of metadata.");
        _tags = Flags.Bool("tags", false, "Display each service's tags as a comma-separated list beside each service entry.");
        _filter = Flags.String("filter", "", "Filter to use with the request");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Lists all registered services in a datacenter";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (!CatalogArgs.NoneLeft(ctx, Flags.Args)) return 1;
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        string filter;
        try
        {
            filter = await DataSource.LoadAsync(_filter(), ctx);
        }
        catch (IOException e)
        {
            ctx.Err.WriteLine($"Could not process filter argument: {e.Message}");
            return 1;
        }
        var query = new CatalogQuery { NodeMeta = _nodeMeta(), Filter = filter, Stale = _http.Stale };

        var services = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (_node().Length > 0)
        {
            try
            {
                var node = await client.Catalog.NodeAsync(_node(), query, ctx.Cancellation);
                // Instances of one service on the node pool their tags under the service name, as Consul does.
                foreach (var s in (node?.Services?.Values.AsEnumerable() ?? []).OfType<CatalogNodeService>())
                {
                    if (!services.TryGetValue(s.Service, out var tags)) services[s.Service] = tags = [];
                    tags.AddRange(s.Tags ?? []);
                }
            }
            catch (ApiException e)
            {
                ctx.Err.WriteLine($"Error listing services for node: {e.Message}");
                return 1;
            }
        }
        else
        {
            try
            {
                foreach (var (name, tags) in await client.Catalog.ServicesAsync(query, ctx.Cancellation))
                    services[name] = tags ?? [];
            }
            catch (ApiException e)
            {
                ctx.Err.WriteLine($"Error listing services: {e.Message}");
                return 1;
            }
        }

        if (services.Count == 0)
        {
            ctx.Err.WriteLine("No services match the given query - try expanding your search.");
            return 0;
        }
        ctx.Out.WriteLine(Format(services, _tags()));
        return 0;
    }

    /// <summary>
    /// Names sorted; with <paramref name="withTags"/> Consul's tabwriter layout (padding 6), each name padded even
    /// when it has no tags, and only the end of the whole block trimmed.
    /// </summary>
    internal static string Format(IReadOnlyDictionary<string, List<string>> services, bool withTags)
    {
        var names = services.Keys.Order(StringComparer.Ordinal).ToList();
        if (!withTags) return string.Join('\n', names);
        var lines = names.Select(n => (n, string.Join(',', services[n].Order(StringComparer.Ordinal)))).ToList();
        return Columns.KeyValueBlock(lines, 6).TrimEnd();
    }
}
