using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Connect;

/// <summary><c>mesh connect ca set-config -config-file &lt;file&gt;</c>: replaces the CA configuration.</summary>
internal sealed class ConnectCaSetConfigCommand : Command
{
    private const string Usage = """
        Usage: mesh connect ca set-config [options]

          Modifies the current Connect Certificate Authority (CA) configuration. A
          new key type or size (or provider) makes a new root, cross-signed by the
          old one, which stays trusted until the leaves it signed have expired.

              $ mesh connect ca set-config -config-file ca.json
        """;

    private readonly HttpOptions _http;
    private readonly Func<string> _file;
    private readonly Func<bool> _force;

    public ConnectCaSetConfigCommand(CliServices services) : base(services, Usage)
    {
        _http = HttpOptions.Register(Flags, serverFlags: true);
        _file = Flags.String("config-file", "", "The path to the config file to use.");
        _force = Flags.Bool("force-without-cross-signing", false,
            "Indicates that the CA reconfiguration should go ahead even if the current CA is unable to cross sign certificates.");
    }

    public override string Synopsis => "Modify the current Connect CA configuration";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (Flags.Args.Count > 0)
        {
            ctx.Err.WriteLine($"Too many arguments (expected 0, got {Flags.Args.Count})");
            return 1;
        }
        var path = _file();
        if (path.Length == 0)
        {
            ctx.Err.WriteLine("The -config-file flag is required");
            return 1;
        }
        byte[] body;
        try
        {
            var file = Path.IsPathRooted(path) ? path : Path.Combine(ctx.WorkingDirectory, path);
            using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(file, ctx.Cancellation));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("the file must hold a JSON object");
            body = _force() ? WithForce(doc.RootElement) : JsonSerializer.SerializeToUtf8Bytes(doc.RootElement);
        }
        catch (IOException e)
        {
            ctx.Err.WriteLine($"Error reading config file: {e.Message}");
            return 1;
        }
        catch (JsonException e)
        {
            ctx.Err.WriteLine($"Error parsing config file: {e.Message}");
            return 1;
        }
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        try
        {
            ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/connect/ca/configuration", null, null, body, ctx.Cancellation));
        }
        catch (Http.ApiException e)
        {
            ctx.Err.WriteLine($"Error setting CA configuration: {e.Message}");
            return 1;
        }
        ctx.Out.WriteLine("Configuration updated!");
        return 0;
    }

    private static byte[] WithForce(JsonElement config)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            foreach (var p in config.EnumerateObject())
                if (p.Name != "ForceWithoutCrossSigning") p.WriteTo(w);
            w.WriteBoolean("ForceWithoutCrossSigning", true);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}
