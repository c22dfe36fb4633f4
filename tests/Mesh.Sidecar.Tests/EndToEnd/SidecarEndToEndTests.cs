using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Mesh.Sidecar.Tests.EndToEnd;

/// <summary>
/// The whole path with real processes on loopback: an app calls its upstream on a local port of its sidecar
/// (<c>mesh connect proxy</c>), which opens mTLS to the destination's sidecar, which enforces intentions and forwards
/// to the destination app. Configuration arrives only over xDS from a real agent.
/// </summary>
[Collection("EndToEnd")]
public sealed class SidecarEndToEndTests
{
    [Fact]
    public async Task Http_NoIntentions_RequestFlowsOverMutualTlsWithTheCallersIdentity()
    {
        await using var mesh = await MeshTopology.StartAsync("http");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.OK, "a request through both sidecars");
        var served = mesh.Counting["counting-1"].App.Count;

        var (status, instance, _) = await mesh.GetAsync();
        Assert.Equal((HttpStatusCode.OK, "counting-1"), (status, instance));

        // The destination's sidecar saw the dashboard's SPIFFE identity and passed it on.
        var headers = JsonSerializer.Deserialize<Dictionary<string, string>>((await mesh.GetAsync("/headers")).Body)!;
        Assert.Contains("/svc/dashboard", headers["x-forwarded-client-cert"]);
        Assert.Equal(served + 2, mesh.Counting["counting-1"].App.Count);
    }

    [Fact]
    public async Task Http_DenyIntention_Is403NamingTheDenial_AndDeletingItRecovers()
    {
        await using var mesh = await MeshTopology.StartAsync("http");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.OK, "allowed at first");
        var served = mesh.Counting["counting-1"].App.Count;

        await mesh.IntentionAsync("dashboard", "counting", "deny");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.Forbidden, "403 after the deny intention");
        var (_, _, body) = await mesh.GetAsync();
        Assert.Contains("RBAC", body);
        Assert.Contains("denied", body, StringComparison.OrdinalIgnoreCase);
        var servedWhileDenied = mesh.Counting["counting-1"].App.Count;

        await mesh.DeleteIntentionAsync("dashboard", "counting");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.OK, "200 after deleting the intention");
        Assert.True(servedWhileDenied >= served, "counts never go down");
        Assert.Contains("mesh_sidecar_rbac_denied_total", await mesh.Counting["counting-1"].Sidecar.MetricsAsync());
    }

    [Fact]
    public async Task Tcp_DenyIntention_ClosesTheConnection_AndAllowRestoresIt()
    {
        await using var mesh = await MeshTopology.StartAsync("tcp");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.OK, "L4 request flows");

        await mesh.IntentionAsync("dashboard", "counting", "deny");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Error is not null, "connection closed after the deny intention");
        var before = mesh.Counting["counting-1"].App.Count;
        var attempt = await TryGet(mesh);
        Assert.NotNull(attempt.Error);
        Assert.Equal(before, mesh.Counting["counting-1"].App.Count);

        await mesh.IntentionAsync("dashboard", "counting", "allow");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.OK, "flows again after allow");
    }

    [Fact]
    public async Task PublicListener_RefusesClientsWithoutALeafOrWithAForeignCa_AcceptsAMeshLeaf()
    {
        await using var mesh = await MeshTopology.StartAsync("tcp");
        var port = mesh.Counting["counting-1"].PublicPort;
        var roots = await mesh.Http.GetStringAsync("/v1/connect/ca/roots?pem=true");
        var trust = new X509Certificate2Collection();
        trust.ImportFromPem(roots);

        // No client certificate: the server refuses (TLS 1.3 reports it on the first read).
        Assert.False(await TryTlsAsync(port, trust, null), "a client without a certificate must be refused");

        // A certificate with a mesh-looking SPIFFE id, signed by some other CA.
        using var foreign = ForeignLeaf();
        Assert.False(await TryTlsAsync(port, trust, foreign), "a certificate from another CA must be refused");

        // The dashboard's real leaf from the agent is accepted (the control case).
        var leafJson = await mesh.Http.GetFromJsonAsync<JsonElement>("/v1/agent/connect/ca/leaf/dashboard");
        using var leaf = X509Certificate2.CreateFromPem(leafJson.GetProperty("CertPEM").GetString(), leafJson.GetProperty("PrivateKeyPEM").GetString());
        using var usable = X509CertificateLoader.LoadPkcs12(leaf.Export(X509ContentType.Pkcs12), null);
        Assert.True(await TryTlsAsync(port, trust, usable), "a leaf from the mesh CA must be accepted");
    }

    [Fact]
    public async Task Split_80_20_IsMeasuredWithin3Percent_AndChangesLiveTo50_50WithoutAFailedRequest()
    {
        await using var mesh = await MeshTopology.StartAsync("http", ["v1", "v2"]);
        await mesh.PutConfigAsync(new
        {
            Kind = "service-resolver", Name = "counting",
            Subsets = new Dictionary<string, object> { ["v1"] = new { Filter = "Service.Meta.version == v1" }, ["v2"] = new { Filter = "Service.Meta.version == v2" } },
        });
        await mesh.PutConfigAsync(Splitter(80, 20));
        await MeshTopology.EventuallyAsync(async () => await ShareOfV2Async(mesh, 100) is > 0.1 and < 0.3, "the 80/20 split in force");

        var share = await ShareOfV2Async(mesh, 2000);
        Assert.InRange(share, 0.17, 0.23);

        // Change the weights while requests flow: every request still succeeds.
        using var stop = new CancellationTokenSource();
        var load = LoadAsync(mesh, stop.Token);
        await mesh.PutConfigAsync(Splitter(50, 50));
        await MeshTopology.EventuallyAsync(async () => await ShareOfV2Async(mesh, 200) is > 0.4 and < 0.6, "the 50/50 split in force");
        stop.Cancel();
        var (ok, failed) = await load;
        Assert.True(ok > 0);
        Assert.Equal(0, failed);

        Assert.InRange(await ShareOfV2Async(mesh, 2000), 0.47, 0.53);
    }

    [Fact]
    public async Task Endpoint_GoingCritical_GetsNoTrafficAfterTheNextEndpointUpdate()
    {
        await using var mesh = await MeshTopology.StartAsync("http", ["v1", "v1"]);
        await MeshTopology.EventuallyAsync(async () =>
        {
            await mesh.GetAsync();
            return mesh.Counting["counting-1"].App.Count > 0 && mesh.Counting["counting-2"].App.Count > 0;
        }, "both instances serve");

        var updates = await EndpointUpdatesAsync(mesh.Dashboard);
        (await mesh.Http.PutAsync("/v1/agent/check/fail/counting-2-alive", null)).EnsureSuccessStatusCode();
        await MeshTopology.EventuallyAsync(async () => await EndpointUpdatesAsync(mesh.Dashboard) > updates, "the endpoint update after the check failed");

        var before = mesh.Counting["counting-2"].App.Count;
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await mesh.GetAsync()).Status);
        }

        Assert.Equal(before, mesh.Counting["counting-2"].App.Count);
    }

    [Fact]
    public async Task CaRotation_SidecarsTakeTheNewLeaves_WithoutAFailedRequest()
    {
        await using var mesh = await MeshTopology.StartAsync("http");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.OK, "requests flow");
        var oldRoot = await ActiveRootAsync(mesh);

        using var stop = new CancellationTokenSource();
        var load = LoadAsync(mesh, stop.Token);
        await mesh.PutAsync("/v1/connect/ca/configuration", new { Provider = "consul", Config = new { PrivateKeyType = "rsa", PrivateKeyBits = 2048 } });
        var newRoot = await ActiveRootAsync(mesh);
        Assert.NotEqual(oldRoot, newRoot);

        // Both sidecars now present leaves signed by the new (RSA) root; requests kept flowing meanwhile.
        const string Sha256Rsa = "1.2.840.113549.1.1.11";
        await MeshTopology.EventuallyAsync(async () => (await PublicLeafAsync(mesh.Counting["counting-1"].PublicPort)).SignatureAlgorithm.Value == Sha256Rsa
            && (await PublicLeafAsync(mesh.DashboardPublicPort)).SignatureAlgorithm.Value == Sha256Rsa, "leaves from the new root on both public listeners");
        // Requests after the switch go over connections made with the new leaves.
        var afterSwitch = mesh.Counting["counting-1"].App.Count;
        await MeshTopology.EventuallyAsync(() => Task.FromResult(mesh.Counting["counting-1"].App.Count > afterSwitch + 20), "requests after the rotation");
        stop.Cancel();
        var (ok, failed) = await load;
        Assert.True(ok > 0);
        Assert.Equal(0, failed);
    }

    [Fact]
    public async Task WebSocket_ThroughBothSidecars_Echoes()
    {
        await using var mesh = await MeshTopology.StartAsync("http");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.OK, "requests flow");
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{mesh.UpstreamPort}/ws"), CancellationToken.None);
        var buffer = new byte[64];
        for (var i = 0; i < 3; i++)
        {
            var message = Encoding.UTF8.GetBytes($"hello {i}");
            await socket.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            Assert.Equal($"hello {i}", Encoding.UTF8.GetString(buffer, 0, result.Count));
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    [Fact]
    public async Task AgentKilled_SidecarsKeepServingTheLastConfiguration()
    {
        await using var mesh = await MeshTopology.StartAsync("http");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.OK, "requests flow");

        mesh.Agent.Kill();
        await mesh.Agent.WaitForExitAsync(CancellationToken.None);
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await mesh.GetAsync()).Status);
        }

        Assert.Contains("mesh_sidecar_xds_connected 0", await mesh.Dashboard.MetricsAsync());
    }

    [Fact]
    public async Task Wrk_UnderConfigurationChurn_SeesNoErrors()
    {
        if (!File.Exists("/usr/bin/wrk"))
        {
            Assert.Fail("wrk is not installed: tests/setup.sh installs it");
        }

        await using var mesh = await MeshTopology.StartAsync("http", ["v1", "v2"]);
        await mesh.PutConfigAsync(new
        {
            Kind = "service-resolver", Name = "counting",
            Subsets = new Dictionary<string, object> { ["v1"] = new { Filter = "Service.Meta.version == v1" }, ["v2"] = new { Filter = "Service.Meta.version == v2" } },
        });
        await mesh.PutConfigAsync(Splitter(50, 50));
        await MeshTopology.EventuallyAsync(async () => await ShareOfV2Async(mesh, 50) is > 0.2 and < 0.8, "the split in force");

        var wrk = Process.Start(new ProcessStartInfo("wrk", ["-t1", "-c8", "-d8s", $"http://127.0.0.1:{mesh.UpstreamPort}/"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = wrk.StandardOutput.ReadToEndAsync();
        var churn = 0;
        var until = DateTime.UtcNow.AddSeconds(6);
        while (DateTime.UtcNow < until)
        {
            var v1 = churn % 2 == 0 ? 90 : 10;
            await mesh.PutConfigAsync(Splitter(v1, 100 - v1));
            await mesh.IntentionAsync("dashboard", "counting", "allow");
            churn++;
            await Task.Delay(250);
        }

        await wrk.WaitForExitAsync();
        var text = await output;
        Assert.True(wrk.ExitCode == 0, text + await wrk.StandardError.ReadToEndAsync());
        Assert.Contains("Requests/sec", text);
        Assert.DoesNotContain("Non-2xx", text);
        Assert.DoesNotContain("Socket errors", text);
        Assert.True(churn >= 10, $"only {churn} changes");
    }

    [Fact]
    public async Task Sigterm_LetsTheRequestInFlightFinish_ThenExitsZero()
    {
        await using var mesh = await MeshTopology.StartAsync("http");
        await MeshTopology.EventuallyAsync(async () => (await TryGet(mesh)).Status == HttpStatusCode.OK, "requests flow");
        var app = mesh.Counting["counting-1"].App;
        var started = app.Count;
        var slow = mesh.Upstream.GetAsync("/slow?ms=1500");
        await MeshTopology.EventuallyAsync(() => Task.FromResult(app.Count > started), "the slow request reached the app");

        var exit = await mesh.Dashboard.TerminateAsync(TimeSpan.FromSeconds(20));
        using var response = await slow;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("slow done", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, exit);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => new HttpClient().GetAsync($"http://127.0.0.1:{mesh.UpstreamPort}/"));
    }

    [Fact]
    public async Task AdHoc_RegisteredProxy_ServesItsUpstream_AndDeregistersOnExit()
    {
        await using var mesh = await MeshTopology.StartAsync("http");
        var upstreamPort = MeshTopology.FreePort();
        var listenPort = MeshTopology.FreePort();
        await using var adHoc = await SidecarProcess.StartAsync(mesh.Agent,
            ["-service", "web", "-upstream", $"counting:{upstreamPort}", "-listen", $"127.0.0.1:{listenPort}", "-register"]);
        var services = await mesh.Http.GetFromJsonAsync<Dictionary<string, JsonElement>>("/v1/agent/services");
        Assert.Equal("connect-proxy", services!["web-proxy"].GetProperty("Kind").GetString());

        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{upstreamPort}/") };
        await MeshTopology.EventuallyAsync(async () =>
        {
            try { return (await client.GetAsync("/")).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        }, "the ad-hoc proxy's upstream answers");

        Assert.Equal(0, await adHoc.TerminateAsync(TimeSpan.FromSeconds(20)));
        services = await mesh.Http.GetFromJsonAsync<Dictionary<string, JsonElement>>("/v1/agent/services");
        Assert.False(services!.ContainsKey("web-proxy"), "the ad-hoc registration is removed on exit");
    }

    private static object Splitter(int v1, int v2) => new
    {
        Kind = "service-splitter", Name = "counting",
        Splits = new object[] { new { Weight = v1, ServiceSubset = "v1" }, new { Weight = v2, ServiceSubset = "v2" } },
    };

    /// <summary>One GET on a new connection (RBAC decides when a connection opens, so a pooled one would hide a change).</summary>
    private static async Task<(HttpStatusCode? Status, Exception? Error)> TryGet(MeshTopology mesh)
    {
        try
        {
            using var client = new HttpClient { BaseAddress = mesh.Upstream.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            using var response = await client.GetAsync("/");
            await response.Content.ReadAsStringAsync();
            return (response.StatusCode, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            return (null, ex);
        }
    }

    private static async Task<double> ShareOfV2Async(MeshTopology mesh, int requests)
    {
        var v2 = 0;
        for (var i = 0; i < requests; i++)
        {
            var (status, instance, body) = await mesh.GetAsync();
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(1000);
                Assert.Fail($"{status}: {body}\n{mesh.Diagnostics()}");
            }
            if (instance == "counting-2") v2++;
        }

        return v2 / (double)requests;
    }

    /// <summary>Sends requests back to back on four connections until cancelled; counts successes and failures.</summary>
    private static async Task<(int Ok, int Failed)> LoadAsync(MeshTopology mesh, CancellationToken stop)
    {
        var ok = 0;
        var failed = 0;
        var failures = new List<string>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var client = new HttpClient { BaseAddress = mesh.Upstream.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync("/");
                    if (response.IsSuccessStatusCode) Interlocked.Increment(ref ok);
                    else
                    {
                        Interlocked.Increment(ref failed);
                        var text = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                        lock (failures) failures.Add(text);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    Interlocked.Increment(ref failed);
                    lock (failures) failures.Add(ex.Message);
                }
            }
        }));
        Assert.True(failed == 0, string.Join("\n", failures.Take(10)) + "\n" + mesh.Diagnostics()[..Math.Min(20000, mesh.Diagnostics().Length)]);
        return (ok, failed);
    }

    private static async Task<long> EndpointUpdatesAsync(SidecarProcess sidecar)
    {
        foreach (var line in (await sidecar.MetricsAsync()).Split('\n'))
        {
            if (line.StartsWith("mesh_sidecar_xds_updates_total{", StringComparison.Ordinal) && line.Contains("\"EDS\""))
            {
                return long.Parse(line[(line.LastIndexOf(' ') + 1)..]);
            }
        }

        return 0;
    }

    private static async Task<string> ActiveRootAsync(MeshTopology mesh)
    {
        var roots = await mesh.Http.GetFromJsonAsync<JsonElement>("/v1/connect/ca/roots");
        var active = roots.GetProperty("ActiveRootID").GetString()!;
        return roots.GetProperty("Roots").EnumerateArray().Single(r => r.GetProperty("ID").GetString() == active).GetProperty("Name").GetString() + " " + active;
    }

    /// <summary>The certificate a public listener presents (without a client certificate the handshake still shows it).</summary>
    private static async Task<X509Certificate2> PublicLeafAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        X509Certificate2? seen = null;
        using var tls = new SslStream(tcp.GetStream(), false, (_, cert, _, _) =>
        {
            seen = cert is null ? null : new X509Certificate2(cert);
            return true;
        });
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "counting" });
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
        {
        }

        return seen ?? throw new InvalidOperationException("no server certificate seen");
    }

    /// <summary>Whether a TLS client with <paramref name="clientCertificate"/> gets a working connection to a public listener.</summary>
    private static async Task<bool> TryTlsAsync(int port, X509Certificate2Collection trust, X509Certificate2? clientCertificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        using var tls = new SslStream(tcp.GetStream());
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "counting",
            ClientCertificates = clientCertificate is null ? null : [clientCertificate],
            CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck },
        };
        options.CertificateChainPolicy.CustomTrustStore.AddRange(trust);
        options.RemoteCertificateValidationCallback = (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
        try
        {
            await tls.AuthenticateAsClientAsync(options);
            // A TCP proxy public listener forwards bytes to the app: send a request and expect an HTTP answer.
            await tls.WriteAsync("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
            var buffer = new byte[64];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var read = await tls.ReadAsync(buffer, timeout.Token);
            return read > 0 && Encoding.ASCII.GetString(buffer, 0, read).StartsWith("HTTP/1.1 200", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            return false;
        }
    }

    private static X509Certificate2 ForeignLeaf()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Other CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=dashboard", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/dashboard"));
        request.CertificateExtensions.Add(san.Build());
        using var leaf = request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3, 4]);
        using var withKey = leaf.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}

/// <summary>End-to-end tests each start an agent and several proxies: run them one at a time on two cores.</summary>
[CollectionDefinition("EndToEnd", DisableParallelization = true)]
public sealed class EndToEndCollection;
