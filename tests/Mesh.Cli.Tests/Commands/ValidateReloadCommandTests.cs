namespace Mesh.Cli.Tests.Commands;

public sealed class ValidateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-validate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var ctx = new CliContext(output, error, TextReader.Null, _ => null, CancellationToken.None);
        var code = await new Mesh.Cli.Commands.CommandTable(Mesh.Cli.Commands.CliServices.Default).RunAsync(ctx, args);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Validate_ValidDirectory_SaysSoAndExitsZero()
    {
        File.WriteAllText(Path.Combine(_dir, "a.json"), """{ "service": { "name": "web", "port": 80, "check": { "ttl": "10s" } } }""");
        var (code, output, _) = await Run("validate", _dir);
        Assert.Equal((0, "Configuration is valid!\n"), (code, output));
    }

    [Fact]
    public async Task Validate_InvalidDefinition_NamesFileAndField_ExitsOne()
    {
        File.WriteAllText(Path.Combine(_dir, "a.json"), """{ "service": { "name": "web", "check": { "tcp": "localhost:1" } } }""");
        var (code, _, err) = await Run("validate", _dir);
        Assert.Equal(1, code);
        Assert.Contains("a.json:1: service", err);
        Assert.Contains("Interval", err);
    }

    [Fact]
    public async Task Validate_NoArguments_ExitsOne()
    {
        var (code, _, err) = await Run("validate");
        Assert.Equal(1, code);
        Assert.Contains("at least one config file", err);
    }

    [Fact]
    public async Task Validate_MissingPath_ExitsOne()
    {
        var (code, _, err) = await Run("validate", Path.Combine(_dir, "nope.json"));
        Assert.Equal(1, code);
        Assert.Contains("does not exist", err);
    }
}
