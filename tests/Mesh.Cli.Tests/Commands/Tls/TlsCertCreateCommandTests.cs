using System.Text.RegularExpressions;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Tls;

/// <summary><c>mesh tls cert create</c>, its certificates judged by openssl.</summary>
public sealed class TlsCertCreateCommandTests : IDisposable
{
    private const string ServerWarning = """
        ==> WARNING: Server Certificates grants authority to become a
            server and access all state in the cluster including root keys
            and all ACL tokens. Do not distribute them to production hosts
            that are not server nodes. Store them as securely as CA keys.

        """;

    private const string ServerAuthThenClientAuth = "TLS Web Server Authentication, TLS Web Client Authentication";
    private const string ClientAuthThenServerAuth = "TLS Web Client Authentication, TLS Web Server Authentication";

    private readonly TlsWorkspace _ws = new();

    public void Dispose() => _ws.Dispose();

    private Task<CliRun> CreateCaAsync(params string[] args) => _ws.MeshOkAsync(["tls", "ca", "create", .. args]);

    private async Task<string> VerifyAsync(string cert, string ca = "consul-agent-ca.pem", string? purpose = null)
    {
        string[] args = purpose is null ? ["verify", "-CAfile", ca, cert] : ["verify", "-CAfile", ca, "-purpose", purpose, cert];
        var output = await Openssl.OkAsync(_ws.Dir, args);
        Assert.Contains($"{cert}: OK", output);
        return output;
    }

    [Fact]
    public async Task CertCreate_Server_ServerNamesBothUsagesSignedByCa()
    {
        await CreateCaAsync();

        var run = await _ws.MeshAsync("tls", "cert", "create", "-server");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Err);
        Assert.Equal(ServerWarning.ReplaceLineEndings("\n") + """
            ==> Using consul-agent-ca.pem and consul-agent-ca-key.pem
            ==> Saved dc1-server-consul-0.pem
            ==> Saved dc1-server-consul-0-key.pem

            """.ReplaceLineEndings("\n"), run.Out);
        await VerifyAsync("dc1-server-consul-0.pem", purpose: "sslserver");
        await VerifyAsync("dc1-server-consul-0.pem", purpose: "sslclient");
        var text = await _ws.TextAsync("dc1-server-consul-0.pem");
        Assert.Contains("Subject: CN = server.dc1.consul\n", text);
        Assert.Contains("DNS:server.dc1.consul, DNS:localhost, IP Address:127.0.0.1\n", text);
        Assert.Contains(ServerAuthThenClientAuth, text);
        Assert.Matches(new Regex(@"X509v3 Basic Constraints: critical\n\s+CA:FALSE\n"), text);
        Assert.Matches(new Regex(@"X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n"), text);
        var caSki = Regex.Match(await _ws.TextAsync("consul-agent-ca.pem"), @"Subject Key Identifier: ?\n\s+([0-9A-F:]+)\n").Groups[1].Value;
        Assert.Matches(new Regex(@"Authority Key Identifier: ?\n\s+(keyid:)?" + Regex.Escape(caSki) + "\n"), text);
        Assert.Contains("X509v3 Subject Key Identifier", text);
        Assert.Contains("ASN1 OID: prime256v1", text);
        await _ws.AssertValidForDaysAsync("dc1-server-consul-0.pem", 365);
        await _ws.AssertKeyOfAsync("dc1-server-consul-0-key.pem", "dc1-server-consul-0.pem");
    }

    [Fact]
    public async Task CertCreate_ServerWithNode_AddsNodeNameFirst()
    {
        await CreateCaAsync();

        await _ws.MeshOkAsync("tls", "cert", "create", "-server", "-node", "srv-1");

        Assert.Contains("DNS:srv-1.server.dc1.consul, DNS:server.dc1.consul, DNS:localhost, IP Address:127.0.0.1\n",
            await _ws.TextAsync("dc1-server-consul-0.pem"));
    }

    [Fact]
    public async Task CertCreate_Client_ClientNamesBothUsagesNoWarning()
    {
        await CreateCaAsync();

        var run = await _ws.MeshAsync("tls", "cert", "create", "-client");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("==> Using consul-agent-ca.pem and consul-agent-ca-key.pem\n==> Saved dc1-client-consul-0.pem\n==> Saved dc1-client-consul-0-key.pem\n", run.Out);
        await VerifyAsync("dc1-client-consul-0.pem", purpose: "sslclient");
        await VerifyAsync("dc1-client-consul-0.pem", purpose: "sslserver");
        var text = await _ws.TextAsync("dc1-client-consul-0.pem");
        Assert.Contains("Subject: CN = client.dc1.consul\n", text);
        Assert.Contains("DNS:client.dc1.consul, DNS:localhost, IP Address:127.0.0.1\n", text);
        Assert.Contains(ClientAuthThenServerAuth, text);
        await _ws.AssertKeyOfAsync("dc1-client-consul-0-key.pem", "dc1-client-consul-0.pem");
    }

    [Fact]
    public async Task CertCreate_Cli_ClientAuthOnlyNoIp()
    {
        await CreateCaAsync();

        var run = await _ws.MeshAsync("tls", "cert", "create", "-cli");

        Assert.Equal(0, run.ExitCode);
        Assert.EndsWith("==> Saved dc1-cli-consul-0.pem\n==> Saved dc1-cli-consul-0-key.pem\n", run.Out);
        await VerifyAsync("dc1-cli-consul-0.pem", purpose: "sslclient");
        var asServer = await Openssl.RunAsync(_ws.Dir, "verify", "-CAfile", "consul-agent-ca.pem", "-purpose", "sslserver", "dc1-cli-consul-0.pem");
        Assert.NotEqual(0, asServer.ExitCode);
        Assert.Contains("error 26 at 0 depth", asServer.Output); // X509_V_ERR_INVALID_PURPOSE
        var text = await _ws.TextAsync("dc1-cli-consul-0.pem");
        Assert.Contains("Subject: CN = cli.dc1.consul\n", text);
        Assert.Contains("DNS:cli.dc1.consul, DNS:localhost\n", text);
        Assert.DoesNotContain("IP Address", text);
        Assert.Matches(new Regex(@"X509v3 Extended Key Usage: ?\n\s+TLS Web Client Authentication\n"), text);
    }

    [Fact]
    public async Task CertCreate_Repeated_TakesFirstIndexWhereBothFilesAreFree()
    {
        await CreateCaAsync();
        await _ws.MeshOkAsync("tls", "cert", "create", "-server");
        await _ws.MeshOkAsync("tls", "cert", "create", "-server");
        File.Delete(Path.Combine(_ws.Dir, "dc1-server-consul-0.pem"));
        _ws.Write("dc1-server-consul-2.pem", "someone else's");

        var run = await _ws.MeshOkAsync("tls", "cert", "create", "-server");

        Assert.EndsWith("==> Saved dc1-server-consul-3.pem\n==> Saved dc1-server-consul-3-key.pem\n", run.Out);
        Assert.Equal("someone else's", _ws.Read("dc1-server-consul-2.pem"));
        Assert.Equal(["consul-agent-ca-key.pem", "consul-agent-ca.pem", "dc1-server-consul-0-key.pem", "dc1-server-consul-1-key.pem",
            "dc1-server-consul-1.pem", "dc1-server-consul-2.pem", "dc1-server-consul-3-key.pem", "dc1-server-consul-3.pem"], _ws.Files());
        Assert.NotEqual(_ws.Read("dc1-server-consul-1-key.pem"), _ws.Read("dc1-server-consul-3-key.pem"));
    }

    [Fact]
    public async Task CertCreate_DatacenterAndDomain_NameFilesAndPickTheDomainsCa()
    {
        await CreateCaAsync("-domain", "mesh");

        var run = await _ws.MeshAsync("tls", "cert", "create", "-client", "-dc", "east", "-domain", "mesh");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("==> Using mesh-agent-ca.pem and mesh-agent-ca-key.pem\n==> Saved east-client-mesh-0.pem\n==> Saved east-client-mesh-0-key.pem\n", run.Out);
        await VerifyAsync("east-client-mesh-0.pem", ca: "mesh-agent-ca.pem");
        var text = await _ws.TextAsync("east-client-mesh-0.pem");
        Assert.Contains("Subject: CN = client.east.mesh\n", text);
        Assert.Contains("DNS:client.east.mesh, DNS:localhost", text);
    }

    [Fact]
    public async Task CertCreate_CaAndKeyFlags_UseThoseFiles()
    {
        await _ws.MeshInAsync("pki", "tls", "ca", "create", "-domain", "ops");

        var run = await _ws.MeshAsync("tls", "cert", "create", "-server", "-ca", "pki/ops-agent-ca.pem", "-key", "pki/ops-agent-ca-key.pem");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("==> Using pki/ops-agent-ca.pem and pki/ops-agent-ca-key.pem\n", run.Out);
        await VerifyAsync("dc1-server-consul-0.pem", ca: "pki/ops-agent-ca.pem");
    }

    [Fact]
    public async Task CertCreate_DomainPlaceholderInCaFlag_ReplacedByDomain()
    {
        await _ws.MeshInAsync("pki", "tls", "ca", "create", "-domain", "ops");

        var run = await _ws.MeshAsync("tls", "cert", "create", "-cli", "-domain", "ops", "-ca", "pki/#DOMAIN#-agent-ca.pem", "-key", "pki/#DOMAIN#-agent-ca-key.pem");

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("==> Using pki/ops-agent-ca.pem and pki/ops-agent-ca-key.pem\n", run.Out);
    }

    [Fact]
    public async Task CertCreate_AdditionalNamesAndAddresses_InSansBeforeTheDefaults()
    {
        await CreateCaAsync();

        await _ws.MeshOkAsync("tls", "cert", "create", "-server", "-days", "30", "-additional-dnsname", "consul.example",
            "-additional-dnsname", " ui.example ", "-additional-dnsname", "localhost", "-additional-ipaddress", "10.1.2.3",
            "-additional-ipaddress", "::1");

        var text = await _ws.TextAsync("dc1-server-consul-0.pem");
        Assert.Contains("DNS:consul.example, DNS:ui.example, DNS:localhost, DNS:server.dc1.consul, IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1, IP Address:127.0.0.1\n", text);
        await _ws.AssertValidForDaysAsync("dc1-server-consul-0.pem", 30);
    }

    [Fact]
    public async Task CertCreate_NameConstrainedCa_SignsInsideAndRefusesOutside()
    {
        await CreateCaAsync("-name-constraint");
        await _ws.MeshOkAsync("tls", "cert", "create", "-server", "-additional-dnsname", "ui.consul");
        await VerifyAsync("dc1-server-consul-0.pem");

        var run = await _ws.MeshAsync("tls", "cert", "create", "-server", "-additional-dnsname", "evil.example");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("the CA may not sign for DNS name \"evil.example\": its name constraints permit only consul, localhost\n", run.Err);
        Assert.DoesNotContain(_ws.Files(), f => f.StartsWith("dc1-server-consul-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CertCreate_CaValidForFewerDays_CertificateEndsWithTheCa()
    {
        await CreateCaAsync("-days", "10");

        await _ws.MeshOkAsync("tls", "cert", "create", "-client");

        await _ws.AssertValidForDaysAsync("dc1-client-consul-0.pem", 10);
        await VerifyAsync("dc1-client-consul-0.pem");
    }

    [Theory]
    [InlineData("Please provide either -server, -client, or -cli\n")]
    [InlineData("Please provide either -server, -client, or -cli\n", "-server", "-client")]
    [InlineData("Please provide either -server, -client, or -cli\n", "-server", "-cli")]
    [InlineData("Please provide either -server, -client, or -cli\n", "-client", "-cli")]
    [InlineData("Please provide either -server, -client, or -cli\n", "-server", "-client", "-cli")]
    [InlineData("-node requires -server\n", "-client", "-node", "n1")]
    [InlineData("-node requires -server\n", "-cli", "-node", "n1")]
    [InlineData("Please provide the ca\n", "-server", "-ca", "")]
    [InlineData("Please provide the key\n", "-server", "-key", "")]
    [InlineData("Invalid IP address for -additional-ipaddress: \"300.1.2.3\"\n", "-server", "-additional-ipaddress", "300.1.2.3")]
    [InlineData("Invalid IP address for -additional-ipaddress: \"host.example\"\n", "-client", "-additional-ipaddress", "host.example")]
    [InlineData("-days must be at least 1, not 0\n", "-server", "-days", "0")]
    [InlineData("Too many arguments (expected 0, got 1)\n", "-server", "extra")]
    public async Task CertCreate_UnusableFlags_ErrorNoFilesExit1(string error, params string[] flags)
    {
        await CreateCaAsync();

        var run = await _ws.MeshAsync(["tls", "cert", "create", .. flags]);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(error, run.Err);
        Assert.Equal("", run.Out);
        Assert.Equal(["consul-agent-ca-key.pem", "consul-agent-ca.pem"], _ws.Files());
    }

    [Theory]
    [InlineData("flag provided but not defined: -bogus\n", "-server", "-bogus")]
    [InlineData("invalid value \"year\" for flag -days: parse error\n", "-client", "-days", "year")]
    [InlineData("flag needs an argument: -dc\n", "-client", "-dc")]
    public async Task CertCreate_MalformedFlags_ErrorAndHelpExit1(string error, params string[] flags)
    {
        var run = await _ws.MeshAsync(["tls", "cert", "create", .. flags]);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith(error + "Usage: mesh tls cert create [options]", run.Err);
        Assert.Empty(_ws.Files());
    }

    [Fact]
    public async Task CertCreate_NoCa_ErrorReadingCaExit1()
    {
        var run = await _ws.MeshAsync("tls", "cert", "create", "-server");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error reading CA: open consul-agent-ca.pem: no such file or directory\n", run.Err);
        Assert.Equal("", run.Out);
        Assert.Empty(_ws.Files());
    }

    [Fact]
    public async Task CertCreate_NoCaKey_ErrorReadingCaKeyExit1()
    {
        await CreateCaAsync();
        File.Delete(Path.Combine(_ws.Dir, "consul-agent-ca-key.pem"));

        var run = await _ws.MeshAsync("tls", "cert", "create", "-client", "-key", "missing/ca-key.pem");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Error reading CA key: open missing/ca-key.pem: no such file or directory\n", run.Err);
        Assert.Equal(["consul-agent-ca.pem"], _ws.Files());
    }

    [Fact]
    public async Task CertCreate_KeyOfAnotherCa_RefusedExit1()
    {
        await CreateCaAsync();
        await _ws.MeshInAsync("other", "tls", "ca", "create");

        var run = await _ws.MeshAsync("tls", "cert", "create", "-client", "-key", "other/consul-agent-ca-key.pem");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("the CA key does not belong to the CA certificate\n", run.Err);
        Assert.Equal(["consul-agent-ca-key.pem", "consul-agent-ca.pem"], _ws.Files());
    }

    [Fact]
    public async Task CertCreate_CaFileHoldsNoCertificate_RefusedExit1()
    {
        await CreateCaAsync();
        _ws.Write("consul-agent-ca.pem", "not a certificate\n");

        var run = await _ws.MeshAsync("tls", "cert", "create", "-client");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("failed to parse CA: no PEM-encoded certificate found", run.Err);
    }

    [Fact]
    public async Task CertCreate_KeyFileHoldsNoKey_RefusedExit1()
    {
        await CreateCaAsync();
        _ws.Write("consul-agent-ca-key.pem", "not a key\n");

        var run = await _ws.MeshAsync("tls", "cert", "create", "-client");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("failed to parse CA key: ", run.Err);
    }

    [Fact]
    public async Task CertCreate_LeafCertificateAsCa_RefusedExit1()
    {
        await CreateCaAsync();
        await _ws.MeshOkAsync("tls", "cert", "create", "-client");

        var run = await _ws.MeshAsync("tls", "cert", "create", "-client", "-ca", "dc1-client-consul-0.pem", "-key", "dc1-client-consul-0-key.pem");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("the CA certificate \"CN=client.dc1.consul\" is not a CA (its basic constraints do not say CA:TRUE)\n", run.Err);
        Assert.DoesNotContain("dc1-client-consul-1.pem", _ws.Files());
    }
}
