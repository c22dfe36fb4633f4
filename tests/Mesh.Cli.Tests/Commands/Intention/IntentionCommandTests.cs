using Mesh.Cli.Commands.Intention;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Intention;

/// <summary>The intention commands against a stubbed agent: answers a shared agent cannot be made to give.</summary>
public sealed class IntentionCommandTests
{
    [Fact]
    public async Task List_NoIntentions_SaysSoExit2()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/connect/intentions", 200, "[]", index: 3);
        var run = await cli.RunAsync("intention", "list");
        Assert.Equal((2, "", "There are no intentions.\n"), (run.ExitCode, run.Out, run.Err));
    }

    [Fact]
    public async Task List_Rows_AlignedAsColumnize()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/connect/intentions", 200, """
            [{"ID":"a1","SourceName":"web","DestinationName":"db","Action":"allow","Precedence":9},
             {"SourceName":"*","DestinationName":"database","Action":"deny","Precedence":8}]
            """);
        var run = await cli.RunAsync("intention", "list");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("ID  Source  Action  Destination  Precedence\na1  web     allow   db           9\n    *       deny    database     8\n", run.Out);
    }

    [Fact]
    public async Task Match_L7Intentions_CountPermissions()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/connect/intentions/match", 200, """
            {"api":[{"SourceName":"web","DestinationName":"api","Permissions":[{"Action":"allow"}],"Precedence":9},
                    {"SourceName":"ops","DestinationName":"api","Permissions":[{"Action":"allow"},{"Action":"deny"}],"Precedence":9},
                    {"SourceNS":"default","SourceName":"*","DestinationNS":"default","DestinationName":"api","Action":"deny","Precedence":8}]}
            """);
        var run = await cli.RunAsync("intention", "match", "api");
        Assert.Equal((0, "web => api (1 permission)\nops => api (2 permissions)\n* => api (deny)\n"), (run.ExitCode, run.Out));
        Assert.Contains("by=destination", cli.Handler.Requests.Single().Query);
    }

    [Fact]
    public async Task Get_L7Intention_PrintsPermissionsIndentedByTwo()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/connect/intentions/exact", 200, """
            {"SourceName":"web","DestinationName":"api","Permissions":[{"Action":"allow","HTTP":{"PathPrefix":"/"}}],"Precedence":9}
            """);
        var run = await cli.RunAsync("intention", "get", "web", "api");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("""
            Source:       web
            Destination:  api
            Created At:   Monday, 01-Jan-01 00:00:00 UTC
            Permissions:
            [
              {
                "Action": "allow",
                "HTTP": {
                  "PathPrefix": "/"
                }
              }
            ]

            """.Replace("\r", ""), run.Out);
    }

    [Fact]
    public void Rfc850_UtcTime_GoLayout() =>
        Assert.Matches(@"^Saturday, 01-Mar-25 \d\d:\d\d:00 \S+$", IntentionGetCommand.Rfc850(new DateTime(2025, 3, 1, 12, 30, 0, DateTimeKind.Utc)));
}
