using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Mesh.Agent.Tests.Fixtures;
using Mesh.Agent.Tests.Http;

namespace Mesh.Agent.Tests.Ca;

/// <summary>The Connect CA through its HTTP API, judged by openssl: roots, leaves, mutual TLS, rotation, renewal.</summary>
public sealed class ConnectCaApiTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mesh-connect-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Save(string name, string text)
    {
        File.WriteAllText(Path.Combine(_dir, name), text);
        return name;
    }

    private static async Task<(JsonElement Leaf, ulong Index)> LeafAsync(InProcessAgent agent, string service, ulong index = 0)
    {
        using var resp = await agent.GetAsync($"/v1/agent/connect/ca/leaf/{service}" + (index > 0 ? $"?index={index}&wait=30s" : ""));
        var text = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, text);
        return (JsonDocument.Parse(text).RootElement.Clone(), InProcessAgent.Index(resp));
    }

    private async Task<string> BundleAsync(InProcessAgent agent)
    {
        using var resp = await agent.GetAsync("/v1/connect/ca/roots?pem=true");
        Assert.True(resp.IsSuccessStatusCode);
        return Save("roots.pem", await resp.Content.ReadAsStringAsync());
    }

    private void SaveLeaf(JsonElement leaf, string name)
    {
        Save($"{name}.pem", leaf.GetProperty("CertPEM").GetString()!);
        Save($"{name}-key.pem", leaf.GetProperty("PrivateKeyPEM").GetString()!);
    }

    [Fact]
    public async Task Roots_OneActiveRoot_InTheClusterTrustDomain()
    {
        await using var agent = await InProcessAgent.StartAsync();
        var roots = await agent.JsonAsync("/v1/connect/ca/roots");
        var trustDomain = roots.GetProperty("TrustDomain").GetString()!;
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.consul$", trustDomain);
        var root = Assert.Single(roots.GetProperty("Roots").EnumerateArray());
        Assert.True(root.GetProperty("Active").GetBoolean());
        Assert.Equal(roots.GetProperty("ActiveRootID").GetString(), root.GetProperty("ID").GetString());
        Assert.Equal("ec", root.GetProperty("PrivateKeyType").GetString());
        Assert.Equal(256, root.GetProperty("PrivateKeyBits").GetInt32());
        using var cert = X509Certificate2.CreateFromPem(root.GetProperty("RootCert").GetString());
        var ski = cert.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifier!.ToLowerInvariant();
        Assert.Equal(ski, root.GetProperty("SigningKeyID").GetString()!.Replace(":", ""));
        Assert.Equal(Convert.ToHexStringLower(SHA1.HashData(cert.RawData)), root.GetProperty("ID").GetString()!.Replace(":", ""));
        // The agent's own endpoint answers the same.
        Assert.Equal(roots.GetProperty("ActiveRootID").GetString(), (await agent.JsonAsync("/v1/agent/connect/ca/roots")).GetProperty("ActiveRootID").GetString());
    }

    [Fact]
    public async Task Leaf_VerifiesAgainstTheRoots_IdentityAndKeyMatch()
    {
        await using var agent = await InProcessAgent.StartAsync();
        var td = (await agent.JsonAsync("/v1/connect/ca/roots")).GetProperty("TrustDomain").GetString();
        var (leaf, _) = await LeafAsync(agent, "web");
        Assert.Equal($"spiffe://{td}/ns/default/dc/dc1/svc/web", leaf.GetProperty("ServiceURI").GetString());
        SaveLeaf(leaf, "web");
        await BundleAsync(agent);
        Assert.Contains("web.pem: OK", await Openssl.OkAsync(_dir, "verify", "-CAfile", "roots.pem", "web.pem"));
        var text = await Openssl.OkAsync(_dir, "x509", "-in", "web.pem", "-noout", "-text");
        Assert.Contains($"URI:spiffe://{td}/ns/default/dc/dc1/svc/web", text);
        // The key the agent made belongs to the certificate it returned.
        Assert.Equal(await Openssl.OkAsync(_dir, "x509", "-in", "web.pem", "-noout", "-pubkey"),
            await Openssl.OkAsync(_dir, "pkey", "-in", "web-key.pem", "-pubout"));
        // Asked again, the same leaf comes back (it is cached, not re-signed).
        Assert.Equal(leaf.GetProperty("SerialNumber").GetString(), (await LeafAsync(agent, "web")).Leaf.GetProperty("SerialNumber").GetString());
    }

    [Theory]
    [InlineData("a,b")]
    [InlineData("quote\"d")]
    [InlineData("cn=x+o=y")]
    public async Task Leaf_ServiceNameWithDnSpecialCharacters_Issued(string service)
    {
        await using var agent = await InProcessAgent.StartAsync();
        var (leaf, _) = await LeafAsync(agent, Uri.EscapeDataString(service));
        Assert.Equal(service, leaf.GetProperty("Service").GetString());
        using var cert = X509Certificate2.CreateFromPem(leaf.GetProperty("CertPEM").GetString());
        Assert.Equal(service, cert.GetNameInfo(X509NameType.SimpleName, false));
    }

    [Fact]
    public async Task MutualTls_TwoLeavesOfTheMesh_Succeeds()
    {
        await using var agent = await InProcessAgent.StartAsync();
        SaveLeaf((await LeafAsync(agent, "web")).Leaf, "web");
        SaveLeaf((await LeafAsync(agent, "db")).Leaf, "db");
        await BundleAsync(agent);
        using var server = await OpensslServer.StartAsync(_dir, "-cert", "db.pem", "-key", "db-key.pem", "-CAfile", "roots.pem", "-Verify", "1", "-verify_return_error");
        var client = await Openssl.RunAsync(_dir, "s_client", "-connect", $"127.0.0.1:{server.Port}", "-cert", "web.pem", "-key", "web-key.pem",
            "-CAfile", "roots.pem", "-verify_return_error");
        var served = await server.WaitAsync();
        Assert.True(client.ExitCode == 0, client.Output);
        Assert.Contains("Verify return code: 0 (ok)", client.Output);
        Assert.Contains("depth=0 CN = web\nverify return:1\n", served.Output);
        Assert.DoesNotContain("verify error", served.Output);
    }

    [Fact]
    public async Task MutualTls_ClientLeafOfAnotherCluster_Rejected()
    {
        await using var agent = await InProcessAgent.StartAsync();
        await using var other = await InProcessAgent.StartAsync();
        SaveLeaf((await LeafAsync(agent, "db")).Leaf, "db");
        SaveLeaf((await LeafAsync(other, "web")).Leaf, "intruder");
        await BundleAsync(agent);
        using var server = await OpensslServer.StartAsync(_dir, "-cert", "db.pem", "-key", "db-key.pem", "-CAfile", "roots.pem", "-Verify", "1", "-verify_return_error");
        await Openssl.RunAsync(_dir, "s_client", "-connect", $"127.0.0.1:{server.Port}", "-cert", "intruder.pem", "-key", "intruder-key.pem", "-CAfile", "roots.pem");
        var served = await server.WaitAsync();
        Assert.Contains("verify error:num=20:unable to get local issuer certificate", served.Output);
        Assert.Contains("certificate verify failed", served.Output);
    }

    [Fact]
    public async Task Rotation_NewRootCrossSigned_OldAndNewLeavesBothVerify_LeavesRenewed()
    {
        await using var agent = await InProcessAgent.StartAsync();
        var (oldLeaf, oldIndex) = await LeafAsync(agent, "web");
        SaveLeaf(oldLeaf, "old");
        Save("old-root.pem", (await agent.JsonAsync("/v1/connect/ca/roots")).GetProperty("Roots")[0].GetProperty("RootCert").GetString()!);

        using (var put = await agent.PutAsync("/v1/connect/ca/configuration", """{"Provider":"consul","Config":{"PrivateKeyType":"ec","PrivateKeyBits":384}}"""))
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());

        var roots = await agent.JsonAsync("/v1/connect/ca/roots");
        var list = roots.GetProperty("Roots").EnumerateArray().ToList();
        Assert.Equal(2, list.Count);
        var active = list.Single(r => r.GetProperty("Active").GetBoolean());
        Assert.Equal(roots.GetProperty("ActiveRootID").GetString(), active.GetProperty("ID").GetString());
        Assert.Equal(384, active.GetProperty("PrivateKeyBits").GetInt32());
        var cross = Assert.Single(active.GetProperty("IntermediateCerts").EnumerateArray()).GetString()!;
        Save("cross.pem", cross);
        Assert.Equal(384, (await agent.JsonAsync("/v1/connect/ca/configuration")).GetProperty("Config").GetProperty("PrivateKeyBits").GetInt32());

        // The root change renews the agent's leaf: a blocking query on the old index returns the new one.
        var (newLeaf, newIndex) = await LeafAsync(agent, "web", oldIndex);
        Assert.True(newIndex > oldIndex);
        Assert.NotEqual(oldLeaf.GetProperty("SerialNumber").GetString(), newLeaf.GetProperty("SerialNumber").GetString());
        SaveLeaf(newLeaf, "new");
        await BundleAsync(agent);
        // Both leaves verify against the published bundle during the rotation...
        Assert.Contains("old.pem: OK", await Openssl.OkAsync(_dir, "verify", "-CAfile", "roots.pem", "old.pem"));
        Assert.Contains("new.pem: OK", await Openssl.OkAsync(_dir, "verify", "-CAfile", "roots.pem", "new.pem"));
        // ...and a peer that still trusts only the old root accepts the new leaf through the cross-signed certificate.
        Assert.Contains("new.pem: OK", await Openssl.OkAsync(_dir, "verify", "-CAfile", "old-root.pem", "-untrusted", "cross.pem", "new.pem"));
        Assert.NotEqual(0, (await Openssl.RunAsync(_dir, "verify", "-CAfile", "old-root.pem", "new.pem")).ExitCode);
        // A new leaf's CertPEM carries the cross-signed certificate after the leaf, for such peers.
        Assert.Contains(cross.Trim(), newLeaf.GetProperty("CertPEM").GetString());
    }

    [Fact]
    public async Task ConfigurationUpdate_WithoutKeyChange_KeepsTheRoot()
    {
        await using var agent = await InProcessAgent.StartAsync();
        var before = (await agent.JsonAsync("/v1/connect/ca/roots")).GetProperty("ActiveRootID").GetString();
        using (var put = await agent.PutAsync("/v1/connect/ca/configuration", """{"Provider":"consul","Config":{"LeafCertTTL":"24h"}}"""))
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        Assert.Equal(before, (await agent.JsonAsync("/v1/connect/ca/roots")).GetProperty("ActiveRootID").GetString());
        Assert.Equal("24h", (await agent.JsonAsync("/v1/connect/ca/configuration")).GetProperty("Config").GetProperty("LeafCertTTL").GetString());
        var (leaf, _) = await LeafAsync(agent, "web");
        var lifetime = leaf.GetProperty("ValidBefore").GetDateTime() - leaf.GetProperty("ValidAfter").GetDateTime();
        Assert.InRange(lifetime, TimeSpan.FromHours(24), TimeSpan.FromHours(24) + TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task Leaf_BlockingQuery_ReturnsARenewedLeafBeforeTheOldOneExpires()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var agent = await InProcessAgent.StartAsync(time: clock);
        var (first, index) = await LeafAsync(agent, "web");
        var validBefore = first.GetProperty("ValidBefore").GetDateTime().ToUniversalTime();
        var waiting = LeafAsync(agent, "web", index);
        // Past 90% of a 72h life: the renewal timer, set between 60% and 90%, has fired.
        clock.Advance(TimeSpan.FromHours(72 * 0.9 + 0.1));
        var (renewed, newIndex) = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(newIndex > index);
        Assert.NotEqual(first.GetProperty("SerialNumber").GetString(), renewed.GetProperty("SerialNumber").GetString());
        Assert.True(renewed.GetProperty("ValidBefore").GetDateTime().ToUniversalTime() > validBefore);
    }

    [Theory]
    [InlineData("""{"CSR":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"}""", "not a valid certificate signing request")]
    [InlineData("""{"CSR":""}""", "empty")]
    [InlineData("""{}""", "CSR is required")]
    [InlineData("""[1]""", "JSON object")]
    public async Task Sign_MalformedCsr_400(string body, string message)
    {
        await using var agent = await InProcessAgent.StartAsync();
        using var resp = await agent.SendAsync(HttpMethod.Post, "/v1/connect/ca/sign", body);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains(message, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Sign_OversizeCsr_400()
    {
        await using var agent = await InProcessAgent.StartAsync();
        var body = JsonSerializer.Serialize(new { CSR = new string('A', 70_000) });
        using var resp = await agent.SendAsync(HttpMethod.Post, "/v1/connect/ca/sign", body);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains("larger than", await resp.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("spiffe://00000000-0000-0000-0000-000000000000.consul/ns/default/dc/dc1/svc/web", "different trust domain")]
    [InlineData("spiffe://{td}/ns/default/dc/dc9/svc/web", "different datacenter")]
    [InlineData("https://example.com/", "valid SPIFFE")]
    public async Task Sign_IdentityThisCaCannotCertify_400(string uri, string message)
    {
        await using var agent = await InProcessAgent.StartAsync();
        var td = (await agent.JsonAsync("/v1/connect/ca/roots")).GetProperty("TrustDomain").GetString()!;
        var (csr, _) = CertificateFactoryTests.Csr(uri.Replace("{td}", td));
        using var resp = await agent.SendAsync(HttpMethod.Post, "/v1/connect/ca/sign", JsonSerializer.Serialize(new { CSR = csr }));
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains(message, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Sign_ValidCsr_SignedLeafVerifies()
    {
        await using var agent = await InProcessAgent.StartAsync();
        var td = (await agent.JsonAsync("/v1/connect/ca/roots")).GetProperty("TrustDomain").GetString()!;
        var (csr, _) = CertificateFactoryTests.Csr($"spiffe://{td}/agent/client/dc/dc1/id/node-1");
        using var resp = await agent.SendAsync(HttpMethod.Post, "/v1/connect/ca/sign", JsonSerializer.Serialize(new { CSR = csr }));
        var json = JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("node-1", json.GetProperty("Agent").GetString());
        Save("agent.pem", json.GetProperty("CertPEM").GetString()!);
        await BundleAsync(agent);
        Assert.Contains("agent.pem: OK", await Openssl.OkAsync(_dir, "verify", "-CAfile", "roots.pem", "agent.pem"));
    }

    [Fact]
    public async Task Sign_OverTheRate_429WithRetryAfter()
    {
        await using var agent = await InProcessAgent.StartAsync(c => c with { Connect = c.Connect with { CaConfigJson = """{"csr_max_per_second": 1}""" } });
        var td = (await agent.JsonAsync("/v1/connect/ca/roots")).GetProperty("TrustDomain").GetString()!;
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            var (csr, _) = CertificateFactoryTests.Csr($"spiffe://{td}/ns/default/dc/dc1/svc/s{i}");
            using var resp = await agent.SendAsync(HttpMethod.Post, "/v1/connect/ca/sign", JsonSerializer.Serialize(new { CSR = csr }));
            codes.Add(resp.StatusCode);
            if (resp.StatusCode == (HttpStatusCode)429) Assert.NotNull(resp.Headers.RetryAfter);
        }
        Assert.Equal(HttpStatusCode.OK, codes[0]);
        Assert.Contains((HttpStatusCode)429, codes);
    }

    [Theory]
    [InlineData("""{"Provider":"vault","Config":{}}""", "not available")]
    [InlineData("""{"Config":{"LeafCertTTL":"1m"}}""", "at least 1h")]
    [InlineData("""{"Config":{"PrivateKeyType":"rsa","PrivateKeyBits":1024}}""", "2048 or 4096")]
    [InlineData("""{"Config":{"Bogus":1}}""", "unknown key Bogus")]
    [InlineData("""{"Config":{"LeafCertTTL":7}}""", "duration")]
    [InlineData("""not json""", "decode")]
    public async Task ConfigurationSet_Invalid_400_NothingChanges(string body, string message)
    {
        await using var agent = await InProcessAgent.StartAsync();
        var before = await agent.JsonAsync("/v1/connect/ca/configuration");
        using var resp = await agent.PutAsync("/v1/connect/ca/configuration", body);
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains(message, await resp.Content.ReadAsStringAsync());
        var after = await agent.JsonAsync("/v1/connect/ca/configuration");
        Assert.Equal(before.GetProperty("ModifyIndex").GetUInt64(), after.GetProperty("ModifyIndex").GetUInt64());
    }

    [Fact]
    public async Task Authorize_DefaultAllow_ExternalTrustDomainDenied_BadInput400()
    {
        await using var agent = await InProcessAgent.StartAsync();
        var td = (await agent.JsonAsync("/v1/connect/ca/roots")).GetProperty("TrustDomain").GetString()!;
        async Task<JsonElement> Authorize(string body)
        {
            using var resp = await agent.SendAsync(HttpMethod.Post, "/v1/agent/connect/authorize", body);
            Assert.True(resp.IsSuccessStatusCode, await resp.Content.ReadAsStringAsync());
            return JsonDocument.Parse(await resp.Content.ReadAsStringAsync()).RootElement.Clone();
        }
        var allowed = await Authorize($$"""{"Target":"db","ClientCertURI":"spiffe://{{td}}/ns/default/dc/dc1/svc/web"}""");
        Assert.True(allowed.GetProperty("Authorized").GetBoolean());
        Assert.Equal("Default behavior configured by ACLs", allowed.GetProperty("Reason").GetString());
        var foreign = await Authorize("""{"Target":"db","ClientCertURI":"spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web"}""");
        Assert.False(foreign.GetProperty("Authorized").GetBoolean());
        foreach (var bad in new[] { """{"ClientCertURI":"spiffe://x.consul/ns/default/dc/dc1/svc/web"}""", """{"Target":"db"}""",
                     """{"Target":"db","ClientCertURI":"https://x"}""", $$"""{"Target":"db","ClientCertURI":"spiffe://{{td}}/agent/client/dc/dc1/id/n"}""" })
        {
            using var resp = await agent.SendAsync(HttpMethod.Post, "/v1/agent/connect/authorize", bad);
            Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        }
    }

    [Fact]
    public async Task ConnectDisabled_EndpointsSayWhy()
    {
        await using var agent = await InProcessAgent.StartAsync(c => c with { Connect = c.Connect with { Enabled = false } });
        using var resp = await agent.GetAsync("/v1/connect/ca/roots");
        Assert.Equal(HttpStatusCode.BadRequest, resp.StatusCode);
        Assert.Contains("Connect must be enabled", await resp.Content.ReadAsStringAsync());
    }
}
