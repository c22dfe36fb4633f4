using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Tls;

/// <summary>The <c>tls</c> command tree: parents list their subcommands, the leaves have help.</summary>
public sealed class TlsCommandTests
{
    [Fact]
    public async Task Run_NoArguments_ListsTls()
    {
        var run = await new CliHarness().RunAsync();

        Assert.Contains("\n    tls          Builtin helpers for creating CAs and certificates\n", run.Err);
    }

    [Fact]
    public async Task Tls_Alone_PrintsSubcommandsExit1()
    {
        var run = await new CliHarness().RunAsync("tls");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Usage: mesh tls <subcommand> <subcommand> [options]", run.Err);
        Assert.EndsWith("Subcommands:\n    ca      Helpers for CAs\n    cert    Helpers for certificates\n", run.Err);
    }

    [Theory]
    [InlineData("ca", "    create    Create a new Mesh CA\n")]
    [InlineData("cert", "    create    Create a new certificate\n")]
    public async Task TlsChild_Alone_PrintsSubcommandsExit1(string child, string line)
    {
        var run = await new CliHarness().RunAsync("tls", child);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"Usage: mesh tls {child} <subcommand> [options]", run.Err);
        Assert.EndsWith("Subcommands:\n" + line, run.Err);
    }

    [Fact]
    public async Task TlsCaCreate_Help_ListsFlagsExit0()
    {
        var run = await new CliHarness().RunAsync("tls", "ca", "create", "-h");

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("Usage: mesh tls ca create [options]", run.Out);
        foreach (var flag in new[] { "-additional-name-constraint=<value>", "-cluster-id=<string>", "-common-name=<string>", "-days=<int>", "-domain=<string>", "-name-constraint\n" })
            Assert.Contains("\n  " + flag, run.Out);
        Assert.DoesNotContain("HTTP API Options", run.Out);
    }

    [Fact]
    public async Task TlsCertCreate_Help_ListsFlagsExit0()
    {
        var run = await new CliHarness().RunAsync("tls", "cert", "create", "-h");

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("Usage: mesh tls cert create [options]", run.Out);
        foreach (var flag in new[] { "-additional-dnsname=<value>", "-additional-ipaddress=<value>", "-ca=<string>", "-cli\n", "-client\n", "-days=<int>", "-dc=<string>", "-domain=<string>", "-key=<string>", "-node=<string>", "-server\n" })
            Assert.Contains("\n  " + flag, run.Out);
    }
}
