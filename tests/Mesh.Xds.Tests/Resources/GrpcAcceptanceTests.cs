using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Xds.Resources;
using static Mesh.Xds.Tests.Resources.SnapshotFixtures;

namespace Mesh.Xds.Tests.Resources;

/// <summary>
/// A proxyless client is stricter than Envoy (its own list of supported fields and policies), so the proxyless
/// resources are handed to @grpc/grpc-js-xds's own decoders — the ones a gRPC client runs on every ADS response — and
/// every one must be accepted. The sidecar's clusters, which gRPC cannot use (SDS, TLS parameters), must be refused,
/// which shows the check can fail.
/// </summary>
public sealed class GrpcAcceptanceTests
{
    private static string Package => Path.Combine(GoldenFiles.RepoRoot, "controlplane", "Mesh.Xds", "Api", "node_modules", "@grpc", "grpc-js-xds");

    private static string Script => Path.Combine(GoldenFiles.RepoRoot, "tests", "Mesh.Xds.Tests", "Resources", "grpc-validate.js");

    /// <summary>Runs the decoders over the resources; returns each resource's name and gRPC's error (null when accepted).</summary>
    private static async Task<IReadOnlyList<(string Name, string? Error)>> Decode(IEnumerable<IMessage> resources)
    {
        var input = Path.GetTempFileName();
        try
        {
            await File.WriteAllLinesAsync(input, resources.Select(r =>
            {
                var any = Any.Pack(r);
                return JsonSerializer.Serialize(new Dictionary<string, string>
                {
                    ["type_url"] = any.TypeUrl,
                    ["value"] = Convert.ToBase64String(any.Value.ToByteArray()),
                });
            }));
            var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Script);
            start.ArgumentList.Add(Package);
            start.ArgumentList.Add(input);
            using var process = Process.Start(start)!;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await stderr}");
            return (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
            {
                using var doc = JsonDocument.Parse(line);
                var error = doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
                return (doc.RootElement.GetProperty("name").GetString() ?? "", error);
            }).ToList();
        }
        finally
        {
            File.Delete(input);
        }
    }

    private static async Task AssertAccepted(IReadOnlyCollection<IMessage> resources)
    {
        var results = await Decode(resources);
        Assert.Equal(resources.Count, results.Count);
        Assert.All(results, r => Assert.True(r.Error is null, $"{r.Name}: {r.Error}"));
    }

    [Fact]
    public async Task ProxylessClusters_AcceptedByGrpc() =>
        await AssertAccepted(ClusterBuilder.Build(Proxyless() with
        {
            Upstreams = [.. Proxyless().Upstreams.Select(u => u with
            {
                Limits = new Mesh.Xds.ProxyCfg.UpstreamLimits(10, 10, 10),
                PassiveHealthCheck = new Mesh.Xds.ProxyCfg.PassiveHealthCheck(TimeSpan.FromSeconds(5), 3, 100),
            })],
        }).Clusters);

    [Fact]
    public async Task ProxylessEndpoints_AcceptedByGrpc() => await AssertAccepted(EndpointBuilder.Build(Proxyless()));

    [Fact]
    public async Task ProxylessRoutes_AcceptedByGrpc() => await AssertAccepted(RouteBuilder.Build(Proxyless()));

    [Fact]
    public async Task SidecarClusters_WithSdsTls_RefusedByGrpc()
    {
        var results = await Decode(ClusterBuilder.Build(SidecarTcp()).Clusters.Where(c => c.TransportSocket is not null));

        var db = Assert.Single(results);
        Assert.Equal(Sni("db.default.dc1"), db.Name);
        Assert.Contains("UpstreamTlsContext", db.Error);
    }
}
