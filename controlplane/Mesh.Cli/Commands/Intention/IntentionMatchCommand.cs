using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Intention;

/// <summary><c>mesh intention match [-source|-destination] NAME</c>: the intentions that apply, in evaluation order.</summary>
internal sealed class IntentionMatchCommand : Command
{
    private const string Usage = """
        Usage: mesh intention match [options] SRC|DST

          Show the list of intentions that would be enforced for a given source
          or destination. The intentions are listed in the order they would be
          evaluated.

              $ mesh intention match db
              $ mesh intention match -source web
        """;

    private readonly HttpOptions _http;
    private readonly Func<bool> _source, _destination;

    public IntentionMatchCommand(CliServices services) : base(services, Usage)
    {
        _source = Flags.Bool("source", false, "Match intentions with the given source.");
        _destination = Flags.Bool("destination", false, "Match intentions with the given destination.");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Show intentions that match a source or destination";

    /// <summary>Consul's command exits 2 on a flag that does not parse.</summary>
    protected override int FlagErrorExitCode => 2;

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (Flags.Args.Count != 1)
        {
            ctx.Err.WriteLine("Error: command requires exactly one argument: src or dst");
            return 1;
        }
        if (_source() && _destination())
        {
            ctx.Err.WriteLine("Error: only one of -source or -destination may be specified");
            return 1;
        }
        var name = Flags.Args[0];
        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        List<IntentionView> matches;
        try
        {
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/connect/intentions/match",
                [new("by", _source() ? "source" : "destination"), new("name", name)], new QueryOptions { AllowStale = _http.Stale }, null, ctx.Cancellation));
            using var doc = JsonDocument.Parse(result.Body);
            matches = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(name, out var list)
                ? IntentionApi.ReadList(list)
                : [];
        }
        catch (Exception e) when (e is Http.ApiException or JsonException)
        {
            ctx.Err.WriteLine($"Error matching the connection: {e.Message}");
            return 1;
        }
        foreach (var ixn in matches) ctx.Out.WriteLine(ixn.ToString());
        return 0;
    }
}
