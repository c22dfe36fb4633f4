using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Config;

/// <summary><c>mesh config read -kind K -name N</c>: prints one config entry as indented JSON.</summary>
internal sealed class ConfigReadCommand : Command
{
    private const string Usage = """
        Usage: mesh config read [options] -kind <config kind> -name <config name>

          Reads the config entry specified by the given kind and name and outputs its
          JSON representation.

          Example:

              $ mesh config read -kind proxy-defaults -name global
        """;

    private readonly HttpOptions _http;
    private readonly Func<string> _kind, _name;

    public ConfigReadCommand(CliServices services) : base(services, Usage)
    {
        _kind = Flags.String("kind", "", "The kind of configuration to read.");
        _name = Flags.String("name", "", "The name of configuration to read.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Read a centralized config entry";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var (kind, name) = (_kind(), _name());
        if (!ConfigJson.RequireKindAndName(ctx.Err, kind, name)) return 1;
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        try
        {
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get,
                $"/v1/config/{ConfigJson.Segment(kind)}/{ConfigJson.Segment(name)}", null, new QueryOptions { AllowStale = _http.Stale }, null, ctx.Cancellation));
            ctx.Out.WriteLine(ConfigJson.Indent(result.Body));
            return 0;
        }
        catch (Exception e) when (e is Http.ApiException or JsonException)
        {
            ctx.Err.WriteLine($"Error reading config entry \"{kind}\" / \"{name}\": {e.Message}");
            return 1;
        }
    }
}
