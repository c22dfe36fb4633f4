using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Agent;

/// <summary><c>mesh info</c>: the <c>Stats</c> of <c>/v1/agent/self</c>, sections and keys sorted.</summary>
internal sealed class InfoCommand : Command
{
    private const string Usage = """
        Usage: mesh info [options]

          Provides debugging information for operators.
        """;

    private readonly HttpOptions _http;

    public InfoCommand(CliServices services) : base(services, Usage) => _http = HttpOptions.Register(Flags, serverFlags: false);

    public override string Synopsis => "Provides debugging information for operators.";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        JsonDocument self;
        try
        {
            self = await client.Agent.SelfAsync(ctx.Cancellation);
        }
        catch (ApiException e)
        {
            ctx.Err.WriteLine($"Error querying agent: {e.Message}");
            return 1;
        }
        using (self)
        {
            if (self.RootElement.ValueKind != JsonValueKind.Object
                || !self.RootElement.TryGetProperty("Stats", out var stats) || stats.ValueKind != JsonValueKind.Object)
            {
                ctx.Err.WriteLine($"Agent response did not contain 'Stats' key: {self.RootElement.GetRawText()}");
                return 1;
            }
            foreach (var section in stats.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                ctx.Out.WriteLine(section.Name + ":");
                if (section.Value.ValueKind != JsonValueKind.Object)
                {
                    ctx.Err.WriteLine($"Got invalid subkey in stats: {section.Value.GetRawText()}");
                    return 1;
                }
                foreach (var item in section.Value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    var value = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString() : item.Value.GetRawText();
                    ctx.Out.WriteLine($"\t{item.Name} = {value}");
                }
            }
        }
        return 0;
    }
}
