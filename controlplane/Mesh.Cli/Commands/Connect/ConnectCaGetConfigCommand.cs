using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Connect;

/// <summary><c>mesh connect ca get-config</c>: prints the CA configuration as indented JSON.</summary>
internal sealed class ConnectCaGetConfigCommand : Command
{
    private const string Usage = """
        Usage: mesh connect ca get-config [options]

          Displays the current Connect Certificate Authority (CA) configuration.
        """;

    private readonly HttpOptions _http;

    public ConnectCaGetConfigCommand(CliServices services) : base(services, Usage) => _http = HttpOptions.Register(Flags, serverFlags: true);

    public override string Synopsis => "Display the current Connect Certificate Authority (CA) configuration";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (Flags.Args.Count > 0)
        {
            ctx.Err.WriteLine($"Too many arguments (expected 0, got {Flags.Args.Count})");
            return 1;
        }
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        try
        {
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/connect/ca/configuration", null, null, null, ctx.Cancellation));
            using var doc = JsonDocument.Parse(result.Body);
            ctx.Out.WriteLine(JsonSerializer.Serialize(doc.RootElement, ConnectCaJson.Indented));
            return 0;
        }
        catch (Exception e) when (e is Http.ApiException or JsonException)
        {
            ctx.Err.WriteLine($"Error request CA configuration: {e.Message}");
            return 1;
        }
    }
}

/// <summary>JSON settings the CA commands share.</summary>
internal static class ConnectCaJson
{
    /// <summary>Indented output, as Consul prints configurations.</summary>
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
