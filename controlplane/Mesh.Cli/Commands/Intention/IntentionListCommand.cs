using System.Globalization;
using System.Text.Json;
using Mesh.Cli.Http;
using Mesh.Cli.Text;

namespace Mesh.Cli.Commands.Intention;

/// <summary><c>mesh intention list</c>: every intention as a table, in precedence order.</summary>
internal sealed class IntentionListCommand : Command
{
    private const string Usage = """
        Usage: mesh intention list

          List all intentions.
        """;

    private readonly HttpOptions _http;

    public IntentionListCommand(CliServices services) : base(services, Usage) => _http = HttpOptions.Register(Flags, serverFlags: true);

    public override string Synopsis => "List intentions";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        List<IntentionView> intentions;
        try
        {
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/connect/intentions", null,
                new QueryOptions { AllowStale = _http.Stale }, null, ctx.Cancellation));
            using var doc = JsonDocument.Parse(result.Body);
            intentions = IntentionApi.ReadList(doc.RootElement);
        }
        catch (Exception e) when (e is Http.ApiException or JsonException)
        {
            ctx.Err.WriteLine($"Failed to retrieve the intentions list: {e.Message}");
            return 1;
        }
        if (intentions.Count == 0)
        {
            // Consul's command says so on stderr and exits 2.
            ctx.Err.WriteLine("There are no intentions.");
            return 2;
        }
        var rows = new List<IReadOnlyList<string>> { new[] { "ID", "Source", "Action", "Destination", "Precedence" } };
        rows.AddRange(intentions.Select(i => (IReadOnlyList<string>)[i.Id, i.SourceName, i.Action, i.DestinationName, i.Precedence.ToString(CultureInfo.InvariantCulture)]));
        ctx.Out.WriteLine(Columns.Columnize(rows));
        return 0;
    }
}
