using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Mesh.Ca.Certificates;
using Mesh.Ca.Identity;
using Mesh.Ca.Keys;
using Mesh.Ca.Providers;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// The Connect CA. First the signing path alone, in this process on one thread: CSR parsed and its signature checked,
/// leaf built and signed with an EC P-256 key, PEM out, for the run's duration. Then a rotation storm against the
/// agent: 10,000 services each get a leaf through <c>/v1/agent/connect/ca/leaf/&lt;service&gt;</c>, the CA's key type
/// changes (a new root), and every agent leaf is renewed under it, all through the signing rate limit. The storm
/// checks that no request is lost (every service ends up with a leaf of the new root) and that the measured signing
/// rate stays within the limit.
/// </summary>
internal sealed class ConnectCaScenario : IScenario
{
    private const double TargetLeavesPerSecond = 5_000;
    private const int Services = 10_000;
    private const int RateLimit = 1_000;

    public string Name => "connect-ca";

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        var signing = SignLoop(context.Options.Duration, verifyCsr: false);
        var verified = SignLoop(context.Options.Duration, verifyCsr: true);
        context.Log.WriteLine($"{Name}: signed {signing.Count:#,0} leaves in {signing.Seconds:0.0} s on one thread " +
            $"({verified.Count:#,0} with each CSR's self-signature checked)");
        var storm = await StormAsync(context, cancellation);
        return new ScenarioResult(Name,
        [
            new Figure("leaf signing, one thread (EC P-256)", "sign_per_s", signing.Count / signing.Seconds, "leaves/s", new Target(TargetKind.AtLeast, TargetLeavesPerSecond)),
            new Figure("same, CSR self-signature checked", "sign_verified_per_s", verified.Count / verified.Seconds, "leaves/s"),
            new Figure($"storm: first leaves for {Services:#,0} services", "storm_issue_s", storm.IssueSeconds, "s"),
            new Figure("storm: renewal after rotation", "storm_rotate_s", storm.RotateSeconds, "s"),
            new Figure("storm: signing rate measured", "storm_rate", storm.MeasuredRate, "leaves/s", new Target(TargetKind.AtMost, RateLimit * 1.05)),
            new Figure("storm: services without a new-root leaf", "storm_lost", storm.Lost, "", new Target(TargetKind.AtMost, 0)),
        ],
        [
            $"storm: csr_max_per_second {RateLimit:#,0}; {storm.Signed:#,0} leaves signed, {storm.Limited:#,0} signings deferred by the limit and retried; " +
            $"busiest 1 s: {storm.PeakSecond:#,0} signed (the bucket holds 1 s of tokens)",
        ]);
    }

    /// <summary>
    /// Signs leaves on this thread for <paramref name="duration"/>. With <paramref name="verifyCsr"/> off it measures
    /// the agent's own path (it made the key, so the CSR's self-signature is not re-checked); on, a CSR from elsewhere.
    /// </summary>
    private static (long Count, double Seconds) SignLoop(TimeSpan duration, bool verifyCsr)
    {
        using var ca = new BuiltinCaProvider();
        var clusterId = Guid.NewGuid().ToString();
        ca.Configure(new CaProviderSettings(clusterId, "dc1", true, CaKeySpec.Default, TimeSpan.FromDays(3650), TimeSpan.FromDays(365), new Dictionary<string, string>()));
        ca.GenerateRoot(DateTimeOffset.UtcNow);
        var td = SpiffeId.TrustDomainOf(clusterId);
        // Distinct keys and names, made before the clock starts: the agent makes its keys, the CA only signs.
        var csrs = Enumerable.Range(0, 512).Select(i =>
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN=svc-{i}", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(SpiffeId.Service(td, "dc1", $"svc-{i}").ToUri());
            request.CertificateExtensions.Add(san.Build());
            return (Pem: request.CreateSigningRequestPem(), Id: SpiffeId.Service(td, "dc1", $"svc-{i}"));
        }).ToArray();
        for (var i = 0; i < 200; i++) ca.SignLeaf(CsrInfo.Parse(csrs[i % csrs.Length].Pem, verifyCsr), csrs[i % csrs.Length].Id, TimeSpan.FromHours(72), DateTimeOffset.UtcNow);
        var watch = Stopwatch.StartNew();
        long count = 0;
        while (watch.Elapsed < duration)
        {
            var (pem, id) = csrs[count % csrs.Length];
            var leaf = ca.SignLeaf(CsrInfo.Parse(pem, verifyCsr), id, TimeSpan.FromHours(72), DateTimeOffset.UtcNow).Pem;
            if (leaf.Length < 100) throw new InvalidOperationException("the CA returned no certificate");
            count++;
        }
        return (count, watch.Elapsed.TotalSeconds);
    }

    private sealed record Storm(double IssueSeconds, double RotateSeconds, double MeasuredRate, long Lost, long Signed, long Limited, long PeakSecond);

    private static async Task<Storm> StormAsync(BenchContext context, CancellationToken ct)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256, UseProxy = false };
        using var http = new HttpClient(handler) { BaseAddress = context.Agent.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
        await context.Api.PutJsonAsync("/v1/connect/ca/configuration", $$$"""{"Provider":"consul","Config":{"CSRMaxPerSecond":{{{RateLimit}}}}}""", ct);
        var signedBefore = await GaugeAsync(http, "mesh.connect.ca.leaves_signed", ct);
        var limitedBefore = await GaugeAsync(http, "mesh.connect.ca.rate_limited", ct);
        var samples = new List<(double T, double Signed)>();
        var clock = Stopwatch.StartNew();
        using var sampling = new CancellationTokenSource();
        var sampler = SampleAsync(http, clock, samples, sampling.Token);

        context.Log.WriteLine($"connect-ca: storm: first leaves for {Services:#,0} services at up to {RateLimit:#,0}/s");
        await Parallel.ForEachAsync(Enumerable.Range(0, Services), new ParallelOptions { MaxDegreeOfParallelism = 256, CancellationToken = ct },
            async (i, token) =>
            {
                using var resp = await http.GetAsync($"v1/agent/connect/ca/leaf/storm-{i}", token);
                if (resp.StatusCode != HttpStatusCode.OK) throw new BenchmarkSetupException($"leaf storm-{i} answered {(int)resp.StatusCode}");
            });
        var issued = clock.Elapsed.TotalSeconds;

        context.Log.WriteLine("connect-ca: storm: rotating the root (EC P-384)");
        var rotateStart = clock.Elapsed.TotalSeconds;
        await context.Api.PutJsonAsync("/v1/connect/ca/configuration",
            $$$"""{"Provider":"consul","Config":{"CSRMaxPerSecond":{{{RateLimit}}},"PrivateKeyType":"ec","PrivateKeyBits":384}}""", ct);
        var roots = JsonDocument.Parse(await context.Api.GetStringAsync("/v1/connect/ca/roots", ct)).RootElement;
        var activeId = roots.GetProperty("ActiveRootID").GetString();
        var activeRoot = roots.GetProperty("Roots").EnumerateArray().Single(r => r.GetProperty("ID").GetString() == activeId);
        using var newRoot = X509Certificate2.CreateFromPem(activeRoot.GetProperty("RootCert").GetString());
        var target = signedBefore + 2 * Services;
        var deadline = clock.Elapsed + TimeSpan.FromSeconds(Services / (double)RateLimit * 3 + 60);
        while (await GaugeAsync(http, "mesh.connect.ca.leaves_signed", ct) < target)
        {
            if (clock.Elapsed > deadline) break;
            await Task.Delay(100, ct);
        }
        var rotated = clock.Elapsed.TotalSeconds - rotateStart;
        await sampling.CancelAsync();
        await sampler;

        // Every service must now hold a leaf issued by the new root.
        long lost = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, Services), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = ct },
            async (i, token) =>
            {
                using var resp = await http.GetAsync($"v1/agent/connect/ca/leaf/storm-{i}", token);
                var json = JsonDocument.Parse(await resp.Content.ReadAsStringAsync(token)).RootElement;
                using var leaf = X509Certificate2.CreateFromPem(json.GetProperty("CertPEM").GetString());
                if (leaf.Issuer != newRoot.Subject) Interlocked.Increment(ref lost);
            });
        var signed = await GaugeAsync(http, "mesh.connect.ca.leaves_signed", ct) - signedBefore;
        var limited = await GaugeAsync(http, "mesh.connect.ca.rate_limited", ct) - limitedBefore;
        var peak = samples.Zip(samples.Skip(1), (a, b) => (b.Signed - a.Signed) / (b.T - a.T)).DefaultIfEmpty(0).Max();
        var busy = issued + rotated;
        return new Storm(issued, rotated, signed / busy, lost, (long)signed, (long)limited, (long)peak);
    }

    private static async Task SampleAsync(HttpClient http, Stopwatch clock, List<(double, double)> samples, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                samples.Add((clock.Elapsed.TotalSeconds, await GaugeAsync(http, "mesh.connect.ca.leaves_signed", ct)));
                await Task.Delay(1000, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<double> GaugeAsync(HttpClient http, string name, CancellationToken ct)
    {
        var json = JsonDocument.Parse(await http.GetStringAsync("v1/agent/metrics", ct)).RootElement;
        return json.GetProperty("Gauges").EnumerateArray().First(g => g.GetProperty("Name").GetString() == name).GetProperty("Value").GetDouble();
    }
}
