using Mesh.Cli.Flags;
using Mesh.Cli.Http;

namespace Mesh.Cli.Tests.Http;

public sealed class HttpOptionsTests
{
    private static ApiConfig Resolve(string[] args, Dictionary<string, string>? env = null)
    {
        var fs = new FlagSet("Usage: x");
        var http = HttpOptions.Register(fs, serverFlags: true);
        fs.Parse(args);
        env ??= [];
        var ctx = new CliContext(TextWriter.Null, TextWriter.Null, TextReader.Null, n => env.TryGetValue(n, out var v) ? v : null, default);
        return http.Resolve(ctx);
    }

    [Fact]
    public void Resolve_Nothing_DefaultsToLocalAgent()
    {
        var config = Resolve([]);
        Assert.Equal(new Uri("http://127.0.0.1:8500/"), config.BaseUri);
        Assert.Null(config.Token);
        Assert.Null(config.Datacenter);
    }

    [Fact]
    public void Resolve_FlagEnvAndConsulEnv_FlagWinsThenMeshThenConsul()
    {
        var env = new Dictionary<string, string> { ["MESH_HTTP_ADDR"] = "mesh:1", ["CONSUL_HTTP_ADDR"] = "consul:2" };
        Assert.Equal("flag:3", Resolve(["-http-addr=flag:3"], env).Address);
        Assert.Equal("mesh:1", Resolve([], env).Address);
        env.Remove("MESH_HTTP_ADDR");
        Assert.Equal("consul:2", Resolve([], env).Address);
    }

    [Theory]
    [InlineData("http://10.0.0.1:8500", "http", "10.0.0.1:8500")]
    [InlineData("https://agent:8501", "https", "agent:8501")]
    [InlineData("unix:///run/mesh.sock", "unix", "/run/mesh.sock")]
    [InlineData("[::1]:8500", "http", "[::1]:8500")]
    public void Resolve_AddressForms_ParsedLikeConsul(string address, string scheme, string rest)
    {
        var config = Resolve(["-http-addr", address]);
        Assert.Equal(scheme, config.Scheme);
        Assert.Equal(rest, config.Address);
    }

    [Fact]
    public void Resolve_HttpSslEnv_UsesHttpsForBareAddress() =>
        Assert.Equal("https", Resolve([], new() { ["MESH_HTTP_SSL"] = "true" }).Scheme);

    [Fact]
    public void Resolve_UnknownScheme_ThrowsConsulMessage() =>
        Assert.Equal("Unknown protocol scheme: ftp", Assert.Throws<ArgumentException>(() => Resolve(["-http-addr=ftp://x:1"])).Message);

    [Fact]
    public void Resolve_TokenSources_FlagThenMeshEnvThenConsulEnv()
    {
        var env = new Dictionary<string, string> { ["MESH_HTTP_TOKEN"] = "m", ["CONSUL_HTTP_TOKEN"] = "c" };
        Assert.Equal("f", Resolve(["-token=f"], env).Token);
        Assert.Equal("m", Resolve([], env).Token);
        env.Remove("MESH_HTTP_TOKEN");
        Assert.Equal("c", Resolve([], env).Token);
    }

    [Fact]
    public void Resolve_TokenFile_ReadsAndTrims()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "  secret\n");
            Assert.Equal("secret", Resolve(["-token-file", file]).Token);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Resolve_DatacenterAlias_SetsDatacenter() => Assert.Equal("east", Resolve(["-dc", "east"]).Datacenter);
}
