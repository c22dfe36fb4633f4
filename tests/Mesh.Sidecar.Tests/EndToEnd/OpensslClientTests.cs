using System.Net.Http.Json;
using System.Text.Json;

namespace Mesh.Sidecar.Tests.EndToEnd;

/// <summary>
/// OpenSSL's own client against a sidecar's public listener: a mesh leaf is accepted over TLS 1.3 and 1.2 and the
/// proxy's certificate verifies against the Connect roots; no client certificate, or one from another CA, is refused.
/// </summary>
[Collection("EndToEnd")]
public sealed class OpensslClientTests
{
    [Fact]
    public async Task SClient_MeshLeafAcceptedOnTls13And12_MissingOrForeignCertificateRefused()
    {
        await using var mesh = await MeshTopology.StartAsync("tcp");
        var port = mesh.Counting["counting-1"].PublicPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var dir = Directory.CreateTempSubdirectory("mesh-sclient-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "roots.pem"), await mesh.Http.GetStringAsync("/v1/connect/ca/roots?pem=true"));
            var leaf = await mesh.Http.GetFromJsonAsync<JsonElement>("/v1/agent/connect/ca/leaf/dashboard");
            await File.WriteAllTextAsync(Path.Combine(dir, "leaf.pem"), leaf.GetProperty("CertPEM").GetString());
            await File.WriteAllTextAsync(Path.Combine(dir, "leaf.key"), leaf.GetProperty("PrivateKeyPEM").GetString());
            await Openssl.OkAsync(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "other.key", "-out", "other.pem", "-days", "1", "-subj", "/CN=dashboard",
                "-addext", "subjectAltName=URI:spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/dashboard");

            string[] connect = ["s_client", "-connect", $"127.0.0.1:{port}", "-CAfile", "roots.pem", "-verify_return_error", "-brief"];
            var tls13 = await Openssl.OkAsync(dir, [.. connect, "-tls1_3", "-cert", "leaf.pem", "-key", "leaf.key"]);
            Assert.Contains("Protocol version: TLSv1.3", tls13);
            Assert.Contains("Verification: OK", tls13);
            var tls12 = await Openssl.OkAsync(dir, [.. connect, "-tls1_2", "-cert", "leaf.pem", "-key", "leaf.key"]);
            Assert.Contains("Protocol version: TLSv1.2", tls12);

            // A request through the public listener reaches the app only with a mesh leaf. The refusal comes when the
            // proxy checks the client's certificate, after OpenSSL's side of the handshake may already look done, so
            // the proof is that no answer comes back.
            Assert.Contains("HTTP/1.1 200", await RequestAsync(dir, port, "-cert", "leaf.pem", "-key", "leaf.key"));
            foreach (var tls in new[] { "-tls1_2", "-tls1_3" })
            {
                Assert.DoesNotContain("HTTP/1.1", await RequestAsync(dir, port, tls));
                Assert.DoesNotContain("HTTP/1.1", await RequestAsync(dir, port, tls, "-cert", "other.pem", "-key", "other.key"));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Sends <c>GET /health</c> with <c>openssl s_client -quiet</c> and returns everything that came back.</summary>
    private static async Task<string> RequestAsync(string dir, string port, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo("openssl")
        {
            WorkingDirectory = dir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])["s_client", "-quiet", "-connect", $"127.0.0.1:{port}", "-CAfile", "roots.pem", .. args]) info.ArgumentList.Add(arg);
        using var process = System.Diagnostics.Process.Start(info)!;
        // -quiet keeps the connection open after stdin ends, until the server closes it.
        await process.StandardInput.WriteAsync("GET /health HTTP/1.1\r\nHost: counting\r\nConnection: close\r\n\r\n");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return await stdout + await stderr;
    }
}
