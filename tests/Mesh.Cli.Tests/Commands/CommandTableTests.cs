using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands;

public sealed class CommandTableTests
{
    [Fact]
    public async Task Run_NoArguments_ListsCommandsOnStderrExit127()
    {
        var run = await new CliHarness().RunAsync();
        Assert.Equal(127, run.ExitCode);
        // Names are padded to the longest ("intention") plus four spaces, as Consul's list aligns them.
        Assert.StartsWith("Usage: mesh [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n    agent        Runs a Mesh agent\n", run.Err);
        Assert.Contains("\n    intention    Interact with Connect service intentions\n", run.Err);
        Assert.Contains("\n    kv           Interact with the key-value store\n", run.Err);
        Assert.Contains("\n    services     Interact with services\n", run.Err);
        Assert.DoesNotContain("kv get", run.Err);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task Run_Help_ListsCommandsOnStdoutExit0()
    {
        var run = await new CliHarness().RunAsync("-h");
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("Usage: mesh [--version]", run.Out);
    }

    [Fact]
    public async Task Run_UnknownCommand_Exit127()
    {
        var run = await new CliHarness().RunAsync("frobnicate");
        Assert.Equal(127, run.ExitCode);
        Assert.Contains("Available commands are:", run.Err);
    }

    [Fact]
    public async Task Run_ParentCommandAlone_PrintsSubcommandsExit1()
    {
        var run = await new CliHarness().RunAsync("kv");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Usage: mesh kv <subcommand> [options] [args]", run.Err);
        Assert.EndsWith("Subcommands:\n    delete    Removes data from the KV store\n    export    Exports a tree from the KV store as JSON\n    get       Retrieves or lists data from the KV store\n    import    Imports a tree stored as JSON to the KV store\n    put       Sets or updates data in the KV store\n", run.Err);
    }

    [Fact]
    public async Task Run_ParentWithUnknownSubcommand_PrintsParentHelpExit1()
    {
        var run = await new CliHarness().RunAsync("kv", "frob");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("Subcommands:", run.Err);
    }

    [Fact]
    public async Task Run_SubcommandHelp_PrintsToStdoutExit0()
    {
        var run = await new CliHarness().RunAsync("kv", "put", "-h");
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("Usage: mesh kv put [options] KEY [DATA]", run.Out);
        Assert.Contains("HTTP API Options", run.Out);
        Assert.Contains("  -modify-index=<uint>\n", run.Out);
    }

    [Theory]
    [InlineData("-v")]
    [InlineData("--version")]
    public async Task Run_VersionFlag_RunsVersion(string flag)
    {
        var run = await new CliHarness().RunAsync(flag);
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("Mesh v0.1.0", run.Out);
    }

    [Fact]
    public async Task Run_FlagBeforeCommand_RejectedWithCommandHelp()
    {
        var run = await new CliHarness().RunAsync("-stale", "kv", "get", "foo");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Invalid flags before the subcommand.", run.Err);
        Assert.Contains("Usage: mesh kv get", run.Err);
    }

    [Fact]
    public async Task Run_Agent_RunsAgentInProcessUntilInterrupted()
    {
        var cli = new CliHarness();
        using var cts = new CancellationTokenSource();
        var running = cli.RunAsync(cts.Token, "agent", "-dev", "-http-port", "0", "-dns-port", "-1", "-grpc-port", "-1", "-node", "dispatch-test");
        await Eventually.TrueAsync(() => cli.OutSoFar.Contains("HTTP API listening on http://"), "the agent to listen");
        await cts.CancelAsync();
        var run = await running;
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("==> Starting Mesh agent...", run.Out);
    }
}
