using System.Text.RegularExpressions;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Tls;

/// <summary><c>mesh tls ca create</c>, its files judged by openssl.</summary>
public sealed class TlsCaCreateCommandTests : IDisposable
{
    private readonly TlsWorkspace _ws = new();

    public void Dispose() => _ws.Dispose();

    [Fact]
    public async Task CaCreate_Defaults_WritesConsulDomainCaAndKey()
    {
        var run = await _ws.MeshAsync("tls", "ca", "create");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("==> Saved consul-agent-ca.pem\n==> Saved consul-agent-ca-key.pem\n", run.Out);
        Assert.Equal("", run.Err);
        Assert.Equal(["consul-agent-ca-key.pem", "consul-agent-ca.pem"], _ws.Files());
        var text = await _ws.TextAsync("consul-agent-ca.pem");
        Assert.Matches(new Regex(@"Subject: CN = Mesh Agent CA \d+\n"), text);
        Assert.Matches(new Regex(@"X509v3 Basic Constraints: critical\n\s+CA:TRUE\n"), text);
        Assert.Matches(new Regex(@"X509v3 Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign\n"), text);
        var ski = Regex.Match(text, @"Subject Key Identifier: ?\n\s+([0-9A-F:]+)\n").Groups[1].Value;
        var aki = Regex.Match(text, @"Authority Key Identifier: ?\n\s+(?:keyid:)?([0-9A-F:]+)\n").Groups[1].Value;
        Assert.NotEqual("", ski);
        Assert.Equal(ski, aki);
        Assert.DoesNotContain("Name Constraints", text);
        Assert.DoesNotContain("URI:", text);
        Assert.Contains("consul-agent-ca.pem: OK", await Openssl.OkAsync(_ws.Dir, "verify", "-CAfile", "consul-agent-ca.pem", "consul-agent-ca.pem"));
        await _ws.AssertValidForDaysAsync("consul-agent-ca.pem", 1825);
        await _ws.AssertKeyOfAsync("consul-agent-ca-key.pem", "consul-agent-ca.pem");
    }

    [Fact]
    public async Task CaCreate_TwoCas_DifferentNamesAndKeys()
    {
        await _ws.MeshOkAsync("tls", "ca", "create");
        await _ws.MeshInAsync("other", "tls", "ca", "create");

        Assert.NotEqual(_ws.Read("consul-agent-ca-key.pem"), _ws.Read("other/consul-agent-ca-key.pem"));
        var first = Regex.Match(await _ws.TextAsync("consul-agent-ca.pem"), "Subject: (.*)\n").Groups[1].Value;
        var second = Regex.Match(await _ws.TextAsync("other/consul-agent-ca.pem"), "Subject: (.*)\n").Groups[1].Value;
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task CaCreate_NameConstraint_PermitsAdditionalDomainsThenDomainAndLocalhost()
    {
        var run = await _ws.MeshAsync("tls", "ca", "create", "-name-constraint", "-domain", "example", "-days", "365",
            "-additional-name-constraint", "ui.test", "-additional-name-constraint=other.test");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("==> Saved example-agent-ca.pem\n==> Saved example-agent-ca-key.pem\n", run.Out);
        var text = await _ws.TextAsync("example-agent-ca.pem");
        Assert.Matches(new Regex(@"X509v3 Name Constraints: critical\n\s+Permitted:\n\s+DNS:ui\.test\n\s+DNS:other\.test\n\s+DNS:example\n\s+DNS:localhost\n"), text);
        await _ws.AssertValidForDaysAsync("example-agent-ca.pem", 365);
    }

    [Fact]
    public async Task CaCreate_AdditionalConstraintWithoutNameConstraint_NoConstraints()
    {
        await _ws.MeshOkAsync("tls", "ca", "create", "-additional-name-constraint", "ui.test");

        Assert.DoesNotContain("Name Constraints", await _ws.TextAsync("consul-agent-ca.pem"));
    }

    [Fact]
    public async Task CaCreate_NameConstraint_OpensslRejectsLeafOutsideThePermittedDomains()
    {
        await _ws.MeshOkAsync("tls", "ca", "create", "-name-constraint");

        // Sign leaves with openssl itself, so the constraint is shown to bind any signer, not only mesh.
        foreach (var name in new[] { "server.dc1.consul", "evil.example" })
        {
            await Openssl.OkAsync(_ws.Dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", $"{name}.key", "-subj", $"/CN={name}", "-addext", $"subjectAltName=DNS:{name}", "-out", $"{name}.csr");
            await Openssl.OkAsync(_ws.Dir, "x509", "-req", "-in", $"{name}.csr", "-CA", "consul-agent-ca.pem", "-CAkey",
                "consul-agent-ca-key.pem", "-set_serial", "7", "-days", "1", "-copy_extensions", "copy", "-out", $"{name}.pem");
        }

        Assert.Contains("server.dc1.consul.pem: OK", await Openssl.OkAsync(_ws.Dir, "verify", "-CAfile", "consul-agent-ca.pem", "server.dc1.consul.pem"));
        var outside = await Openssl.RunAsync(_ws.Dir, "verify", "-CAfile", "consul-agent-ca.pem", "evil.example.pem");
        Assert.NotEqual(0, outside.ExitCode);
        Assert.Contains("permitted subtree violation", outside.Output);
    }

    [Fact]
    public async Task CaCreate_CommonNameAndClusterId_SubjectAndSpiffeUri()
    {
        await _ws.MeshOkAsync("tls", "ca", "create", "-common-name", "Ops CA, east", "-domain", "mesh",
            "-cluster-id", "11111111-2222-3333-4444-555555555555");

        var text = await _ws.TextAsync("mesh-agent-ca.pem");
        Assert.Contains("Subject: CN = \"Ops CA, east\"\n", text);
        Assert.Contains("URI:spiffe://11111111-2222-3333-4444-555555555555.mesh\n", text);
    }

    [Theory]
    [InlineData("consul-agent-ca.pem")]
    [InlineData("consul-agent-ca-key.pem")]
    public async Task CaCreate_FileExists_RefusesAndLeavesItExit1(string existing)
    {
        _ws.Write(existing, "keep me");

        var run = await _ws.MeshAsync("tls", "ca", "create");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"{existing} already exists.\n", run.Err);
        Assert.Equal("", run.Out);
        Assert.Equal([existing], _ws.Files());
        Assert.Equal("keep me", _ws.Read(existing));
    }

    [Fact]
    public async Task CaCreate_DirectoryWithTheName_RefusesExit1()
    {
        Directory.CreateDirectory(Path.Combine(_ws.Dir, "consul-agent-ca-key.pem"));

        var run = await _ws.MeshAsync("tls", "ca", "create");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("consul-agent-ca-key.pem already exists.\n", run.Err);
        Assert.Empty(_ws.Files());
    }

    [Theory]
    [InlineData("invalid value \"soon\" for flag -days: parse error\n", "-days", "soon")]
    [InlineData("flag provided but not defined: -bogus\n", "-bogus")]
    public async Task CaCreate_BadFlag_ErrorAndHelpExit1(string error, params string[] flags)
    {
        var run = await _ws.MeshAsync(["tls", "ca", "create", .. flags]);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith(error + "Usage: mesh tls ca create [options]", run.Err);
        Assert.Empty(_ws.Files());
    }

    [Theory]
    [InlineData("the validity must be at least 1 day, not 0\n", "-days", "0")]
    [InlineData("a validity of 2147483647 days ends after the year 9999\n", "-days", "2147483647")]
    [InlineData("Too many arguments (expected 0, got 1)\n", "my-ca")]
    public async Task CaCreate_UnusableArguments_ErrorNoFilesExit1(string error, params string[] args)
    {
        var run = await _ws.MeshAsync(["tls", "ca", "create", .. args]);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(error, run.Err);
        Assert.Empty(_ws.Files());
    }
}
