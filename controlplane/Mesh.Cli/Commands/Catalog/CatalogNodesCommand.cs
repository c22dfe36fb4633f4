using Mesh.Cli.Commands.Kv;
using Mesh.Cli.Http;
using Mesh.Cli.Text;

namespace Mesh.Cli.Commands.Catalog;

/// <summary>
/// <c>mesh catalog nodes</c>: the catalog's nodes (or the nodes providing <c>-service</c>) as Consul's
/// <c>Node ID Address DC</c> table, <c>-detailed</c> adding tagged addresses and metadata.
/// </summary>
internal sealed class CatalogNodesCommand : Command
{
    private const string Usage = """
        Usage: mesh catalog nodes [options]

          Retrieves the list nodes registered in a given datacenter. By default, the
          datacenter of the local agent is queried.

          To retrieve the list of nodes:

              $ mesh catalog nodes

          To print detailed information including full node IDs, tagged addresses, and
          metadata information:

              $ mesh catalog nodes -detailed

          To list nodes which are running a particular service:

              $ mesh catalog nodes -service=web

          To filter by node metadata:

              $ mesh catalog nodes -node-meta="foo=bar"

          To sort nodes by estimated round-trip time from node-web:

              $ mesh catalog nodes -near=node-web

          For a full list of options and examples, please see the Mesh documentation.
        """;

    private readonly Func<bool> _detailed;
    private readonly Func<string> _near, _service, _filter;
    private readonly Func<IReadOnlyDictionary<string, string>> _nodeMeta;
    private readonly HttpOptions _http;

    public CatalogNodesCommand(CliServices services) : base(services, Usage)
    {
        _filter = Flags.String("filter", "", "Filter to use with the request");
        _detailed = Flags.Bool("detailed", false,
            "Output detailed information about the nodes including their addresses and metadata.");
        _near = Flags.String("near", "",
            "Node name to sort the node list in ascending order based on estimated round-trip time from that node. " +
            "Passing \"_agent\" will use this agent's node for sorting.");
        _nodeMeta = Flags.Map("node-meta",
            "Metadata to filter nodes with the given `key=value` pairs. This flag may be specified multiple times to " +
            "filter on multiple sources of metadata.");
        _service = Flags.String("service", "",
            "Service `id or name` to filter nodes. Only nodes which are providing the given service will be returned.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Lists all nodes in the given datacenter";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (!CatalogArgs.NoneLeft(ctx, Flags.Args)) return 1;
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        string filter;
        try
        {
            // -filter=@file and -filter=- read the expression, as Consul's LoadDataSource does.
            filter = await DataSource.LoadAsync(_filter(), ctx);
        }
        catch (IOException e)
        {
            ctx.Err.WriteLine($"Could not process filter argument: {e.Message}");
            return 1;
        }
        var query = new CatalogQuery { Near = _near(), NodeMeta = _nodeMeta(), Filter = filter, Stale = _http.Stale };

        List<CatalogNode> nodes;
        if (_service().Length > 0)
        {
            try
            {
                var entries = await client.Catalog.ServiceAsync(_service(), query, ctx.Cancellation);
                nodes = entries.Select(e => new CatalogNode
                {
                    ID = e.ID,
                    Node = e.Node,
                    Address = e.Address,
                    Datacenter = e.Datacenter,
                    TaggedAddresses = e.TaggedAddresses,
                    Meta = e.NodeMeta,
                }).ToList();
            }
            catch (ApiException e)
            {
                ctx.Err.WriteLine($"Error listing nodes for service: {e.Message}");
                return 1;
            }
        }
        else
        {
            try
            {
                nodes = await client.Catalog.NodesAsync(query, ctx.Cancellation);
            }
            catch (ApiException e)
            {
                ctx.Err.WriteLine($"Error listing nodes: {e.Message}");
                return 1;
            }
        }

        if (nodes.Count == 0)
        {
            ctx.Err.WriteLine("No nodes match the given query - try expanding your search.");
            return 0;
        }
        ctx.Out.WriteLine(Format(nodes, _detailed()));
        return 0;
    }

    /// <summary>Consul's node table; without <paramref name="detailed"/> IDs are cut at their first dash.</summary>
    internal static string Format(IReadOnlyList<CatalogNode> nodes, bool detailed)
    {
        var table = new List<IReadOnlyList<string>>();
        table.Add(detailed ? ["Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"] : ["Node", "ID", "Address", "DC"]);
        foreach (var n in nodes)
        {
            if (detailed)
            {
                table.Add([n.Node, n.ID, n.Address, n.Datacenter, KeyValues(n.TaggedAddresses), KeyValues(n.Meta)]);
            }
            else
            {
                var dash = n.ID.IndexOf('-');
                table.Add([n.Node, dash > 0 ? n.ID[..dash] : n.ID, n.Address, n.Datacenter]);
            }
        }
        return Columns.Columnize(table);
    }

    /// <summary><c>k=v, k2=v2</c> sorted by key, as Consul's <c>mapToKV</c>.</summary>
    private static string KeyValues(Dictionary<string, string>? map) =>
        map is null ? "" : string.Join(", ", map.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}={m.Value}"));
}
