using System.Text.Json;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Intention;

/// <summary>
/// <c>mesh intention check SRC DST</c>: whether a connection would be allowed. As Consul's command, the exit code is
/// the answer: 0 allowed, 1 denied, 2 when the question could not be asked (bad arguments, agent unreachable).
/// </summary>
internal sealed class IntentionCheckCommand : Command
{
    private const string Usage = """
        Usage: mesh intention check [options] SRC DST

          Check whether a connection between SRC and DST would be allowed by
          Connect given the current Mesh configuration.

              $ mesh intention check web db
        """;

    private readonly HttpOptions _http;

    public IntentionCheckCommand(CliServices services) : base(services, Usage) => _http = HttpOptions.Register(Flags, serverFlags: true);

    public override string Synopsis => "Check whether a connection between two services is allowed";

    /// <summary>A bad flag is exit code 2 here, not 1: 1 means "denied".</summary>
    protected override int FlagErrorExitCode => 2;

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        if (Flags.Args.Count != 2)
        {
            ctx.Err.WriteLine("Error: command requires exactly two arguments: src and dst");
            return 2;
        }
        using var client = CreateClient(ctx, _http);
        if (client is null) return 2;
        bool allowed;
        try
        {
            var result = ApiClient.RequireOk(await client.SendAsync(HttpMethod.Get, "/v1/connect/intentions/check",
                [new("source", Flags.Args[0]), new("destination", Flags.Args[1]), new("source-type", "consul")],
                new QueryOptions { AllowStale = _http.Stale }, null, ctx.Cancellation));
            using var doc = JsonDocument.Parse(result.Body);
            allowed = doc.RootElement.GetProperty("Allowed").GetBoolean();
        }
        catch (Exception e) when (e is Http.ApiException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            ctx.Err.WriteLine($"Error checking the connection: {e.Message}");
            return 2;
        }
        ctx.Out.WriteLine(allowed ? "Allowed" : "Denied");
        return allowed ? 0 : 1;
    }
}
