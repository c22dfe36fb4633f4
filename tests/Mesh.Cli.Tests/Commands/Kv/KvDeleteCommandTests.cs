using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Kv;

public sealed class KvDeleteCommandTests
{
    [Fact]
    public async Task KvDelete_Key_DeletesAndReports()
    {
        var cli = new CliHarness();
        cli.Handler.On("DELETE", "/v1/kv/k", 200, "true");
        var run = await cli.RunAsync("kv", "delete", "k");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("Success! Deleted key: k\n", run.Out);
        Assert.Equal(["DELETE /v1/kv/k"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvDelete_Recurse_DeletesPrefix()
    {
        var cli = new CliHarness();
        cli.Handler.On("DELETE", "/v1/kv/app", 200, "true");
        var run = await cli.RunAsync("kv", "delete", "-recurse", "app");
        Assert.Equal("Success! Deleted keys with prefix: app\n", run.Out);
        Assert.Equal(["DELETE /v1/kv/app?recurse"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvDelete_Cas_SendsIndex()
    {
        var cli = new CliHarness();
        cli.Handler.On("DELETE", "/v1/kv/k", 200, "true");
        var run = await cli.RunAsync("kv", "delete", "-cas", "-modify-index=3", "k");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["DELETE /v1/kv/k?cas=3"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvDelete_CasRejected_Exits1()
    {
        var cli = new CliHarness();
        cli.Handler.On("DELETE", "/v1/kv/k", 200, "false");
        var run = await cli.RunAsync("kv", "delete", "-cas", "-modify-index=3", "k");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error! Did not delete key k: CAS failed\n", run.Err);
    }

    [Theory]
    [InlineData(new[] { "kv", "delete" }, "Error! Missing KEY argument")]
    [InlineData(new[] { "kv", "delete", "-cas", "k" }, "Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.")]
    [InlineData(new[] { "kv", "delete", "-modify-index=2", "k" }, "Cannot specify -modify-index without -cas!")]
    [InlineData(new[] { "kv", "delete", "-cas", "-modify-index=2", "-recurse", "k" }, "Cannot specify both -cas and -recurse!")]
    public async Task KvDelete_InvalidCombination_Exits1WithoutRequest(string[] args, string message)
    {
        var cli = new CliHarness();
        var run = await cli.RunAsync(args);
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(message + "\n", run.Err);
        Assert.Empty(cli.Handler.Requests);
    }
}
