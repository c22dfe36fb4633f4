using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Kv;

/// <summary><c>mesh kv export</c>: a prefix as the JSON array <c>kv import</c> reads.</summary>
internal sealed class KvExportCommand : Command
{
    private const string Usage = """
        Usage: mesh kv export [KEY_OR_PREFIX]

          Retrieves key-value pairs for the given prefix from Mesh's key-value store,
          and writes a JSON representation to stdout. This can be used with the command
          "mesh kv import" to move entire trees between Mesh clusters.

              $ mesh kv export vault

          For a full list of options and examples, please see the Mesh documentation.
        """;

    private readonly HttpOptions _http;

    public KvExportCommand(CliServices services) : base(services, Usage) =>
        _http = HttpOptions.Register(Flags, serverFlags: true);

    public override string Synopsis => "Exports a tree from the KV store as JSON";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var args = Flags.Args;
        if (args.Count > 1)
        {
            ctx.Err.WriteLine($"Too many arguments (expected 1, got {args.Count})");
            return 1;
        }
        var prefix = KvFormat.TrimLeadingSlash(args.Count == 1 ? args[0] : "");

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        List<KvPair>? pairs;
        try
        {
            (pairs, _) = await client.Kv.ListAsync(prefix, new QueryOptions { AllowStale = _http.Stale }, ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error querying Mesh agent: {e.Message}");
            return 1;
        }
        var entries = (pairs ?? []).Select(p => new ExportEntry
        {
            Key = p.Key,
            Flags = p.Flags,
            Value = Convert.ToBase64String(p.Value ?? []),
        }).ToList();
        ctx.Out.WriteLine(JsonSerializer.Serialize(entries, ApiJson.IndentedTab.ListExportEntry));
        return 0;
    }
}
