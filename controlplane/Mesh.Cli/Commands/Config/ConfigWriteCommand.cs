using System.Text;
using System.Text.Json;
using Mesh.Cli.Http;
using Mesh.Connect.Entries;

namespace Mesh.Cli.Commands.Config;

/// <summary><c>mesh config write [-cas -modify-index N] &lt;file | -&gt;</c>: creates or replaces one config entry.</summary>
internal sealed class ConfigWriteCommand : Command
{
    private const string Usage = """
        Usage: mesh config write [options] <configuration>

          Request a config entry to be created or updated. The configuration
          argument is either a file path or '-' to indicate that the config
          should be read from stdin. The data should be JSON, with PascalCase or
          snake_case field names.

          Example (from file):

              $ mesh config write web.service.json

          Example (from stdin):

              $ mesh config write -
        """;

    private readonly HttpOptions _http;
    private readonly Func<bool> _cas;
    private readonly Func<ulong> _modifyIndex;

    public ConfigWriteCommand(CliServices services) : base(services, Usage)
    {
        _cas = Flags.Bool("cas", false,
            "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. " +
            "The default value is false.");
        _modifyIndex = Flags.UInt64("modify-index", 0,
            "Unsigned integer representing the ModifyIndex of the config entry. This is used in combination with the -cas flag.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Create or update a centralized config entry";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (Flags.Args.Count != 1)
        {
            ctx.Err.WriteLine("Must provide exactly one positional argument to specify the config entry to write");
            return 1;
        }
        string data;
        try
        {
            data = await LoadAsync(Flags.Args[0], ctx);
        }
        catch (IOException e)
        {
            ctx.Err.WriteLine($"Failed to load data: {e.Message}");
            return 1;
        }

        // Decoded here first, as Consul's CLI does, so a malformed file is reported without a round trip and the
        // messages can name the entry's kind and name.
        ConfigEntry entry;
        try
        {
            using var doc = JsonDocument.Parse(data);
            entry = EntryValidator.Normalize(EntryCodec.Read(doc.RootElement));
        }
        catch (Exception e) when (e is JsonException or ConfigEntryException)
        {
            ctx.Err.WriteLine($"Failed to decode config entry input: {e.Message}");
            return 1;
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        bool written;
        try
        {
            var parameters = ConfigJson.Cas(_cas(), _modifyIndex());
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Put, "/v1/config", parameters, null, Encoding.UTF8.GetBytes(data), ctx.Cancellation));
            written = ConfigJson.ReadBool(result);
        }
        catch (Http.ApiException e)
        {
            ctx.Err.WriteLine($"Error writing config entry {entry.Kind}/{entry.Name}: {e.Message}");
            return 1;
        }
        if (!written)
        {
            ctx.Err.WriteLine($"Config entry not updated: {entry.Kind}/{entry.Name}");
            return 1;
        }
        ctx.Out.WriteLine($"Config entry written: {entry.Kind}/{entry.Name}");
        return 0;
    }

    /// <summary>Consul's no-raw data source: <c>-</c> is stdin, anything else a file path.</summary>
    private static async Task<string> LoadAsync(string source, CliContext ctx)
    {
        if (source == "-")
        {
            try
            {
                return await ctx.In.ReadToEndAsync(ctx.Cancellation);
            }
            catch (IOException e)
            {
                throw new IOException($"Failed to read stdin: {e.Message}", e);
            }
        }
        try
        {
            return await File.ReadAllTextAsync(Path.IsPathRooted(source) ? source : Path.Combine(ctx.WorkingDirectory, source), ctx.Cancellation);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Failed to read file: {e.Message}", e);
        }
    }
}
