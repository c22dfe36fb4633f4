using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Commands.Tls;

/// <summary>
/// Certificates from <c>mesh tls</c> in real mutual-TLS handshakes between <c>openssl s_server</c> (client certificate
/// required and verified) and <c>openssl s_client</c> (server certificate and host name verified).
/// </summary>
public sealed class TlsHandshakeTests : IDisposable
{
    private readonly TlsWorkspace _ws = new();

    public void Dispose() => _ws.Dispose();

    /// <summary>A CA in <paramref name="dir"/> with one certificate of each kind.</summary>
    private async Task CreatePkiAsync(string dir)
    {
        foreach (var args in new[] { new[] { "tls", "ca", "create" }, ["tls", "cert", "create", "-server"], ["tls", "cert", "create", "-client"], ["tls", "cert", "create", "-cli"] })
        {
            var run = await _ws.MeshInAsync(dir, args);
            Assert.True(run.ExitCode == 0, run.Err);
        }
    }

    /// <summary>
    /// One handshake: the server requires a client certificate and fails the handshake when it does not verify; the
    /// client checks the server's certificate against its CA and the name <c>localhost</c>.
    /// </summary>
    private async Task<(OpensslRun Server, OpensslRun Client)> HandshakeAsync(string serverCa, string server, string clientCa, string client)
    {
        using var s = await OpensslServer.StartAsync(_ws.Dir, "-cert", $"{server}.pem", "-key", $"{server}-key.pem",
            "-CAfile", serverCa, "-Verify", "1", "-verify_return_error");
        var c = await Openssl.RunAsync(_ws.Dir, "s_client", "-connect", $"127.0.0.1:{s.Port}", "-cert", $"{client}.pem",
            "-key", $"{client}-key.pem", "-CAfile", clientCa, "-verify_return_error", "-verify_hostname", "localhost");
        return (await s.WaitAsync(), c);
    }

    [Theory]
    [InlineData("dc1-client-consul-0", "client.dc1.consul")]
    [InlineData("dc1-cli-consul-0", "cli.dc1.consul")]
    [InlineData("dc1-server-consul-1", "server.dc1.consul")]
    public async Task Handshake_CertificatesOfOneCa_MutualTlsSucceeds(string client, string clientName)
    {
        await CreatePkiAsync("");
        await _ws.MeshOkAsync("tls", "cert", "create", "-server");

        var (server, c) = await HandshakeAsync("consul-agent-ca.pem", "dc1-server-consul-0", "consul-agent-ca.pem", client);

        Assert.True(c.ExitCode == 0, c.Output);
        Assert.Contains("Verify return code: 0 (ok)", c.Output);
        Assert.Contains("Verified peername: localhost", c.Output);
        Assert.Contains($"depth=0 CN = {clientName}\nverify return:1\n", server.Output);
        Assert.Contains("Client certificate", server.Output);
        Assert.DoesNotContain("verify error", server.Output);
    }

    [Fact]
    public async Task Handshake_ClientCertificateOfAnotherCa_ServerRejects()
    {
        await CreatePkiAsync("");
        await CreatePkiAsync("other");

        var (server, _) = await HandshakeAsync("consul-agent-ca.pem", "dc1-server-consul-0", "consul-agent-ca.pem", "other/dc1-client-consul-0");

        // Under TLS 1.3 the client may finish its side (and exit 0) before the server's alert arrives, so the server
        // is the judge.
        Assert.Contains("depth=0 CN = client.dc1.consul\nverify error:num=20:unable to get local issuer certificate", server.Output);
        Assert.Contains("certificate verify failed", server.Output);
        Assert.DoesNotContain("Client certificate", server.Output);
    }

    [Fact]
    public async Task Handshake_ServerCertificateOfAnotherCa_ClientRejects()
    {
        await CreatePkiAsync("");
        await CreatePkiAsync("other");

        var (_, c) = await HandshakeAsync("consul-agent-ca.pem", "other/dc1-server-consul-0", "consul-agent-ca.pem", "dc1-client-consul-0");

        Assert.NotEqual(0, c.ExitCode);
        Assert.Contains("Verify return code: 20 (unable to get local issuer certificate)", c.Output);
    }
}
