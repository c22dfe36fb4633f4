using Mesh.Cli.Tests.Support;
using static Mesh.Cli.Tests.Support.Json;

namespace Mesh.Cli.Tests.Commands.Kv;

public sealed class KvExportImportCommandTests
{
    [Fact]
    public async Task KvExport_Prefix_PrintsTabIndentedEntries()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/app", 200, Array(Pair("app/a", "1", flags: 7), Pair("app/b", null)));
        var run = await cli.RunAsync("kv", "export", "app");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["GET /v1/kv/app?recurse"], cli.Handler.Log);
        Assert.Equal($"[\n\t{{\n\t\t\"key\": \"app/a\",\n\t\t\"flags\": 7,\n\t\t\"value\": \"{B64("1")}\"\n\t}},\n\t{{\n\t\t\"key\": \"app/b\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"\"\n\t}}\n]\n", run.Out);
    }

    [Fact]
    public async Task KvExport_Nothing_PrintsEmptyArray()
    {
        var cli = new CliHarness();
        cli.Handler.On("GET", "/v1/kv/", 404);
        var run = await cli.RunAsync("kv", "export");
        Assert.Equal("[]\n", run.Out);
    }

    [Fact]
    public async Task KvImport_Entries_PutsEachWithFlagsAndReports()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/kv/a", 200, "true").On("PUT", "/v1/kv/b/c", 200, "true");
        var data = $$"""[{"key":"a","flags":3,"value":"{{B64("one")}}"},{"Key":"b/c","Flags":0,"Value":"{{B64("two")}}"}]""";
        var run = await cli.RunAsync("kv", "import", data);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("Imported: a\nImported: b/c\n", run.Out);
        Assert.Equal(["PUT /v1/kv/a?flags=3", "PUT /v1/kv/b/c"], cli.Handler.Log);
        Assert.Equal(["one", "two"], cli.Handler.Requests.Select(r => r.BodyText));
    }

    [Fact]
    public async Task KvImport_Prefix_JoinsKeysAndKeepsDirectorySlash()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/kv/new/a", 200, "true").On("PUT", "/v1/kv/new/dir/", 200, "true");
        var run = await cli.RunAsync("kv", "import", "-prefix=new/", """[{"key":"a","flags":0,"value":""},{"key":"dir/","flags":0,"value":""}]""");
        Assert.Equal("Imported: new/a\nImported: new/dir/\n", run.Out);
    }

    [Fact]
    public async Task KvImport_Stdin_ReadsDocument()
    {
        var cli = new CliHarness { Stdin = $$"""[{"key":"k","flags":0,"value":"{{B64("v")}}"}]""" };
        cli.Handler.On("PUT", "/v1/kv/k", 200, "true");
        var run = await cli.RunAsync("kv", "import", "-");
        Assert.Equal("Imported: k\n", run.Out);
    }

    [Fact]
    public async Task KvImport_MalformedJson_Exits1WithoutWriting()
    {
        var cli = new CliHarness();
        var run = await cli.RunAsync("kv", "import", """[{"key":"a",""");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Cannot unmarshal data: ", run.Err);
        Assert.Empty(cli.Handler.Requests);
    }

    [Fact]
    public async Task KvImport_BadBase64_Exits1()
    {
        var cli = new CliHarness();
        var run = await cli.RunAsync("kv", "import", """[{"key":"a","flags":0,"value":"%%%"}]""");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("Error base 64 decoding value for key a: ", run.Err);
    }

    [Fact]
    public async Task KvImport_WriteFails_ReportsKeyAndStops()
    {
        var cli = new CliHarness();
        cli.Handler.On("PUT", "/v1/kv/a", 403, "Permission denied");
        var run = await cli.RunAsync("kv", "import", """[{"key":"a","flags":0,"value":""},{"key":"b","flags":0,"value":""}]""");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error! Failed writing data for key a: Unexpected response code: 403 (Permission denied)\n", run.Err);
        Assert.Single(cli.Handler.Requests);
    }

    [Fact]
    public async Task KvImport_MissingData_Exits1()
    {
        var run = await new CliHarness().RunAsync("kv", "import");
        Assert.Equal("Error! Missing DATA argument\n", run.Err);
    }
}
