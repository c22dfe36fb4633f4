using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Config;

/// <summary><c>mesh config list -kind K [-filter F]</c>: prints the names of the entries of a kind, one per line.</summary>
internal sealed class ConfigListCommand : Command
{
    private const string Usage = """
        Usage: mesh config list [options] -kind <config kind>

          Lists all of the config entries for a given kind. The -kind parameter
          is required.

          Example:

              $ mesh config list -kind service-defaults
        """;

    private readonly HttpOptions _http;
    private readonly Func<string> _kind, _filter;

    public ConfigListCommand(CliServices services) : base(services, Usage)
    {
        _kind = Flags.String("kind", "", "The kind of configurations to list.");
        _filter = Flags.String("filter", "", "Filter to use with the request.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "List centralized config entries of a given kind";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var kind = _kind();
        if (kind.Length == 0)
        {
            ctx.Err.WriteLine("Must specify the -kind parameter");
            return 1;
        }
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        var filter = _filter();
        var parameters = filter.Length == 0 ? null : new[] { new KeyValuePair<string, string?>("filter", filter) };
        List<string> names;
        try
        {
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, $"/v1/config/{ConfigJson.Segment(kind)}", parameters,
                new QueryOptions { AllowStale = _http.Stale }, null, ctx.Cancellation));
            using var doc = JsonDocument.Parse(result.Body);
            names = doc.RootElement.ValueKind == JsonValueKind.Array
                ? doc.RootElement.EnumerateArray().Select(e => e.TryGetProperty("Name", out var n) ? n.GetString() ?? "" : "").ToList()
                : throw Http.ApiException.FromDecode("expected a list of config entries", null);
        }
        catch (Exception e) when (e is Http.ApiException or JsonException)
        {
            ctx.Err.WriteLine($"Error listing config entries for kind \"{kind}\": {e.Message}");
            return 1;
        }
        foreach (var name in names) ctx.Out.WriteLine(name);
        return 0;
    }
}
