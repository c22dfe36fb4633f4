using System.Diagnostics;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Mesh.Xds.Resources;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;

namespace Mesh.Xds.Tests.Resources.Listeners;

/// <summary>
/// The proxyless API listeners go through gRPC's own xDS client validation (<c>@grpc/grpc-js-xds</c>, the package the
/// build already installs) run by node: what a gRPC client would accept or NACK.
/// </summary>
public sealed class GrpcXdsListenerTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Mesh.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>One line per listener from grpc-js-xds: <c>ok &lt;name&gt;</c> or <c>error &lt;why&gt;</c>.</summary>
    private static async Task<string[]> DecodeWithGrpcAsync(IEnumerable<Listener> listeners)
    {
        var root = RepoRoot();
        var start = new ProcessStartInfo("node")
        {
            ArgumentList =
            {
                Path.Combine(root, "tests", "Mesh.Xds.Tests", "Resources", "Listeners", "grpc-decode-listeners.cjs"),
                Path.Combine(root, "controlplane", "Mesh.Xds", "Api"),
            },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        foreach (var listener in listeners) await process.StandardInput.WriteLineAsync(listener.ToByteString().ToBase64());
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {await error}");
        return (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    [Fact]
    public async Task Build_Proxyless_GrpcJsXdsAcceptsEveryApiListener()
    {
        var listeners = ListenerBuilder.Build(ListenerFixtures.Proxyless()).Listeners;

        var lines = await DecodeWithGrpcAsync(listeners);

        Assert.True(lines.SequenceEqual(["ok greeter", "ok billing"]), string.Join("\n", lines));
    }

    [Fact]
    public async Task GrpcJsXds_RouterNotLastOrRdsNotOverAds_Rejected()
    {
        // The checks this suite relies on are real: gRPC refuses what the builder must never produce.
        var routerFirst = new HttpConnectionManager
        {
            Rds = new Rds { RouteConfigName = "a", ConfigSource = new ConfigSource { Ads = new AggregatedConfigSource() } },
            HttpFilters = { HttpFilters.Router(), HttpFilters.Rbac(new HttpRbac()) },
        };
        var noAds = new HttpConnectionManager { Rds = new Rds { RouteConfigName = "b" }, HttpFilters = { HttpFilters.Router() } };
        Listener Api(string name, IMessage hcm) => new() { Name = name, ApiListener = new ApiListener { ApiListener_ = Any.Pack(hcm) } };

        var lines = await DecodeWithGrpcAsync([Api("a", routerFirst), Api("b", noAds)]);

        Assert.Equal(2, lines.Length);
        Assert.StartsWith("error", lines[0]);
        Assert.Contains("router filter is before the end of the list", lines[0]);
        Assert.Contains("rds.config_source.ads and rds.config_source.self both unset", lines[1]);
    }
}
