using Mesh.Demos.Tests.Canary;
using Mesh.Demos.Tests.Infrastructure;

namespace Mesh.Demos.Tests.Docs;

/// <summary>The demos' READMEs, run as a reader would run them, with their printed output checked (see <see cref="Readme"/>).</summary>
[Collection(DemoCollection.Name)]
public class ReadmeTests
{
    private static readonly Dictionary<string, int> ConnectPorts = new()
    {
        ["MESH_HTTP_ADDR"] = 8500, ["MESH_GRPC_ADDR"] = 8502, ["DEMO_DNS_PORT"] = 8600, ["COUNTING_PORT"] = 9003, ["DASHBOARD_PORT"] = 9002,
        ["COUNTING_UPSTREAM_PORT"] = 5000, ["COUNTING_SIDECAR_PORT"] = 21000, ["DASHBOARD_SIDECAR_PORT"] = 21001,
    };

    [Fact]
    public void ConnectReadme_ConsoleBlocks_AreTheWalkThrough()
    {
        var steps = Readme.Steps(DemoPaths.Demos("connect", "README.md")).Select(s => s.Command).ToList();

        Assert.Equal(
            [
                "demos/connect/start.sh",
                "./mesh intention create -deny dashboard counting",
                "curl -s localhost:9002/api/status | jq -r .state",
                "./mesh intention delete dashboard counting",
                "curl -s localhost:9002/api/status | jq -r .state",
                "demos/connect/stop.sh",
                "demos/connect/stop.sh",
            ],
            steps);
    }

    [Fact]
    public async Task ConnectReadme_Commands_PrintWhatTheReadmeShows()
    {
        await using var demo = DemoRun.ForConnect();
        var (running, stopped) = (false, false);

        await Readme.RunAsync(DemoPaths.Demos("connect", "README.md"), demo, "demos/connect/.run", ConnectPorts, async (step, result) =>
        {
            Assert.Equal(0, result.ExitCode);
            if (step.Command == "demos/connect/start.sh")
            {
                // Every process the README lists is running, and the dashboard it names shows a count.
                Assert.Equal(5, Directory.GetFiles(Path.Combine(demo.StateDir, "pids"), "*.pid").Length);
                using var http = new HttpClient();
                var status = await http.GetStringAsync($"http://localhost:{demo.Ports["DASHBOARD_PORT"]}/api/status");
                Assert.Contains("\"state\":\"reachable\"", status);
                running = true;
            }
            else if (step.Command == "demos/connect/stop.sh" && !stopped)
            {
                Assert.Empty(ProcessSweep.WithEnvironment("DEMO_STATE_DIR", demo.StateDir));
                Assert.Empty(Directory.GetFiles(Path.Combine(demo.StateDir, "pids")));
                stopped = true;
            }
        });

        Assert.True(running && stopped);
    }

    private static readonly Dictionary<string, int> CanaryPorts = new()
    {
        ["MESH_HTTP_ADDR"] = 8500, ["MESH_GRPC_ADDR"] = 8502, ["DEMO_DNS_PORT"] = 8600, ["WEB_PORT"] = 9090, ["API_V1_PORT"] = 9091, ["API_V2_PORT"] = 9092,
        ["API_UPSTREAM_PORT"] = 5001, ["WEB_SIDECAR_PORT"] = 21010, ["API_V1_SIDECAR_PORT"] = 21011, ["API_V2_SIDECAR_PORT"] = 21012,
    };

    [Fact]
    public async Task CanaryReadme_RunScript_PrintsWhatTheReadmeShowsWithEachSplitWithin3Percent()
    {
        await using var demo = DemoRun.ForCanary();

        var results = await Readme.RunAsync(DemoPaths.Demos("canary", "README.md"), demo, "demos/canary/.run", CanaryPorts);

        var (step, result) = Assert.Single(results);
        Assert.Equal("demos/canary/run.sh", step.Command);
        Assert.Equal(0, result.ExitCode);
        var splits = CanarySplit.Parse(result.Stdout);
        Assert.Equal(3, splits.Count);
        splits[0].AssertWithin3Percent(90, 10);
        splits[1].AssertWithin3Percent(50, 50);
        splits[2].AssertWithin3Percent(0, 100);
        Assert.Empty(ProcessSweep.WithEnvironment("DEMO_STATE_DIR", demo.StateDir));
    }
}
