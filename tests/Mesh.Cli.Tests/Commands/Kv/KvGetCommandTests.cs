using Mesh.Cli.Tests.Support;
using static Mesh.Cli.Tests.Support.Json;

namespace Mesh.Cli.Tests.Commands.Kv;

public sealed class KvGetCommandTests
{
    [Fact]
    public async Task KvGet_ExistingKey_PrintsRawValue()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/foo", 200, Array(Pair("foo", "bar")), index: 5);
        var run = await cli.RunAsync("kv", "get", "foo");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("bar\n", run.Out);
        Assert.Equal(["GET /v1/kv/foo"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvGet_MissingKey_PrintsConsulErrorAndExits1()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/nope", 404);
        var run = await cli.RunAsync("kv", "get", "nope");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error! No key exists at: nope\n", run.Err);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task KvGet_LeadingSlash_IsStripped()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/a/b", 200, Array(Pair("a/b", "v")));
        Assert.Equal(0, (await cli.RunAsync("kv", "get", "/a/b")).ExitCode);
    }

    [Fact]
    public async Task KvGet_NoKeyWithoutRecurse_Exits1()
    {
        var run = await new CliHarness().RunAsync("kv", "get");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error! Missing KEY argument\n", run.Err);
    }

    [Fact]
    public async Task KvGet_TooManyArguments_Exits1()
    {
        var run = await new CliHarness().RunAsync("kv", "get", "a", "b");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Too many arguments (expected 1, got 2)\n", run.Err);
    }

    [Fact]
    public async Task KvGet_Recurse_PrintsKeyColonValueLines()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/app", 200, Array(Pair("app/a", "1"), Pair("app/b", "two")));
        var run = await cli.RunAsync("kv", "get", "-recurse", "app");
        Assert.Equal("app/a:1\napp/b:two\n", run.Out);
        Assert.Equal(["GET /v1/kv/app?recurse"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvGet_RecurseNothingThere_PrintsNothing()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/", 404);
        var run = await cli.RunAsync("kv", "get", "-recurse");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task KvGet_KeysWithSeparator_ListsKeys()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/web", 200, """["web/bar","web/subdir/"]""");
        var run = await cli.RunAsync("kv", "get", "-keys", "web");
        Assert.Equal("web/bar\nweb/subdir/\n", run.Out);
        Assert.Equal(["GET /v1/kv/web?keys&separator=%2F"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvGet_KeysEmptySeparator_OmitsSeparator()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/web", 200, "[]");
        await cli.RunAsync("kv", "get", "-keys", "-separator=", "web");
        Assert.Equal(["GET /v1/kv/web?keys"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvGet_Detailed_PrintsConsulTable()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/foo", 200, Array(Pair("foo", "bar", create: 3, modify: 9, flags: 42, lockIndex: 1, session: "s-1")));
        var run = await cli.RunAsync("kv", "get", "-detailed", "foo");
        Assert.Equal("""
            CreateIndex      3
            Flags            42
            Key              foo
            LockIndex        1
            ModifyIndex      9
            Session          s-1
            Value            bar

            """.ReplaceLineEndings("\n"), run.Out);
    }

    [Fact]
    public async Task KvGet_RecurseDetailedBase64_BlocksSeparatedByBlankLine()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/p", 200, Array(Pair("p/a", "x"), Pair("p/b", null)));
        var run = await cli.RunAsync("kv", "get", "-recurse", "-detailed", "-base64", "p");
        Assert.Equal($"""
            CreateIndex      1
            Flags            0
            Key              p/a
            LockIndex        0
            ModifyIndex      1
            Session          -
            Value            {B64("x")}

            CreateIndex      1
            Flags            0
            Key              p/b
            LockIndex        0
            ModifyIndex      1
            Session          -
            Value            

            """.ReplaceLineEndings("\n"), run.Out);
    }

    [Fact]
    public async Task KvGet_StaleAndDatacenter_SentAsQuery()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/foo", 200, Array(Pair("foo", "bar")));
        await cli.RunAsync("kv", "get", "-stale", "-datacenter=dc2", "foo");
        Assert.Equal(["GET /v1/kv/foo?dc=dc2&stale"], cli.Handler.Log);
    }

    [Fact]
    public async Task KvGet_TokenFromEnv_SentAsHeader()
    {
        var cli = new CliHarness();
        cli.Env["MESH_HTTP_TOKEN"] = "abc";
        cli.Handler.On("GET", "/v1/kv/foo", 200, Array(Pair("foo", "bar")));
        await cli.RunAsync("kv", "get", "foo");
        Assert.Equal("abc", Assert.Single(cli.Handler.Requests).Token);
    }

    [Fact]
    public async Task KvGet_BadRequest_ShowsBodyAndExits1()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/foo", 400, "Invalid consistency");
        var run = await cli.RunAsync("kv", "get", "foo");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error querying Mesh agent: Unexpected response code: 400 (Invalid consistency)\n", run.Err);
    }

    [Fact]
    public async Task KvGet_ConnectionRefused_OneLineAndExit1()
    {
        var cli = new CliHarness { UseNetwork = true };
        var port = Http.ApiClientTests.ClosedPort();
        var run = await cli.RunAsync("kv", "get", $"-http-addr=127.0.0.1:{port}", "foo");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"Error querying Mesh agent: Get \"http://127.0.0.1:{port}/v1/kv/foo\": dial tcp 127.0.0.1:{port}: connect: connection refused\n", run.Err);
    }

    [Fact]
    public async Task KvGet_BadAddressScheme_ErrorConnecting()
    {
        var run = await new CliHarness().RunAsync("kv", "get", "-http-addr=ftp://x:1", "foo");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error connecting to Mesh agent: Unknown protocol scheme: ftp\n", run.Err);
    }

    [Fact]
    public async Task KvGet_UnknownFlag_PrintsErrorAndHelpToStderr()
    {
        var run = await new CliHarness().RunAsync("kv", "get", "-bogus", "foo");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("flag provided but not defined: -bogus\nUsage: mesh kv get", run.Err);
    }
}
