using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Kv;

public sealed class KvPutCommandTests
{
    private static CliHarness WithPut(string path, string answer = "true")
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", path, 200, answer);
        return cli;
    }

    [Fact]
    public async Task KvPut_Value_PutsRawBodyAndPrintsSuccess()
    {
        var cli = WithPut("/v1/kv/config/max");
        var run = await cli.RunAsync("kv", "put", "config/max", "5");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("Success! Data written to: config/max\n", run.Out);
        var request = Assert.Single(cli.Handler.Requests);
        Assert.Equal("PUT /v1/kv/config/max", request.ToString());
        Assert.Equal("5", request.BodyText);
    }

    [Fact]
    public async Task KvPut_NoValue_WritesEmptyValue()
    {
        var cli = WithPut("/v1/kv/flag");
        Assert.Equal(0, (await cli.RunAsync("kv", "put", "flag")).ExitCode);
        Assert.Empty(Assert.Single(cli.Handler.Requests).Body);
    }

    [Fact]
    public async Task KvPut_Flags_SentAsQuery()
    {
        var cli = WithPut("/v1/kv/k");
        await cli.RunAsync("kv", "put", "-flags=42", "k", "v");
        Assert.Equal(["PUT /v1/kv/k?flags=42"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvPut_Cas_SendsCasIndexAndSucceeds()
    {
        var cli = WithPut("/v1/kv/k");
        var run = await cli.RunAsync("kv", "put", "-cas", "-modify-index=844", "k", "v");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["PUT /v1/kv/k?cas=844"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvPut_CasRejected_PrintsCasFailedAndExits1()
    {
        var cli = WithPut("/v1/kv/k", "false");
        var run = await cli.RunAsync("kv", "put", "-cas", "-modify-index=7", "k", "v");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error! Did not write to k: CAS failed\n", run.Err);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task KvPut_CasIndexZeroRejected_SaysKeyExists()
    {
        var cli = WithPut("/v1/kv/k", "false");
        var run = await cli.RunAsync("kv", "put", "-cas", "k", "v");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(["PUT /v1/kv/k?cas=0"], cli.Handler.Log);
        Assert.Equal("Error! Did not write to k: CAS performed with index=0 and key already exists.\n", run.Err);
    }

    [Fact]
    public async Task KvPut_Dash_ReadsStdin()
    {
        var cli = WithPut("/v1/kv/lic");
        cli.Stdin = "abcd1234\n";
        await cli.RunAsync("kv", "put", "lic", "-");
        Assert.Equal("abcd1234\n", Assert.Single(cli.Handler.Requests).BodyText);
    }

    [Fact]
    public async Task KvPut_DashPrefixedWord_IsLiteralData()
    {
        var cli = WithPut("/v1/kv/k");
        await cli.RunAsync("kv", "put", "k", "-x");
        Assert.Equal("-x", Assert.Single(cli.Handler.Requests).BodyText);
    }

    [Fact]
    public async Task KvPut_AtFile_ReadsFile()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "from file");
            var cli = WithPut("/v1/kv/k");
            await cli.RunAsync("kv", "put", "k", "@" + file);
            Assert.Equal("from file", Assert.Single(cli.Handler.Requests).BodyText);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task KvPut_AtMissingFile_FailsWithoutRequest()
    {
        var cli = WithPut("/v1/kv/k");
        var run = await cli.RunAsync("kv", "put", "k", "@/nonexistent/file");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Error! Failed to read file: ", run.Err);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task KvPut_Base64_DecodesData()
    {
        var cli = WithPut("/v1/kv/k");
        await cli.RunAsync("kv", "put", "-base64", "k", Json.B64("hello"));
        Assert.Equal("hello", Assert.Single(cli.Handler.Requests).BodyText);
    }

    [Fact]
    public async Task KvPut_InvalidBase64_Exits1()
    {
        var run = await WithPut("/v1/kv/k").RunAsync("kv", "put", "-base64", "k", "!!!");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Error! Cannot base 64 decode data: ", run.Err);
    }

    [Fact]
    public async Task KvPut_AcquireWithoutSession_Exits1()
    {
        var run = await new CliHarness().RunAsync("kv", "put", "-acquire", "k");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error! Missing -session (required with -acquire and -release)\n", run.Err);
    }

    [Fact]
    public async Task KvPut_Acquire_SendsSessionAndReportsLock()
    {
        var cli = WithPut("/v1/kv/k");
        var run = await cli.RunAsync("kv", "put", "-acquire", "-session=s1", "k", "v");
        Assert.Equal("Success! Lock acquired on: k\n", run.Out);
        Assert.Equal(["PUT /v1/kv/k?acquire=s1"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvPut_AcquireRefused_Exits1()
    {
        var run = await WithPut("/v1/kv/k", "false").RunAsync("kv", "put", "-acquire", "-session=s1", "k");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error! Did not acquire lock\n", run.Err);
    }

    [Fact]
    public async Task KvPut_Release_SendsRelease()
    {
        var cli = WithPut("/v1/kv/k");
        var run = await cli.RunAsync("kv", "put", "-release", "-session=s1", "k");
        Assert.Equal("Success! Lock released on: k\n", run.Out);
        Assert.Equal(["PUT /v1/kv/k?release=s1"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvPut_LeadingSlash_RefusedLikeConsulClient()
    {
        var cli = WithPut("/v1/kv/k");
        var run = await cli.RunAsync("kv", "put", "/k", "v");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error! Failed writing data: Invalid key. Key must not begin with a '/': /k\n", run.Err);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task KvPut_ValueTooLarge_ShowsAgentError()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/kv/k", 413, "Value exceeds 524288 byte limit");
        var run = await cli.RunAsync("kv", "put", "k", "v");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error! Failed writing data: Unexpected response code: 413 (Value exceeds 524288 byte limit)\n", run.Err);
    }

    [Fact]
    public async Task KvPut_MissingKey_Exits1()
    {
        var run = await new CliHarness().RunAsync("kv", "put");
        Assert.Equal("Error! Missing KEY argument\n", run.Err);
        Assert.Equal(1, run.ExitCode);
    }
}
