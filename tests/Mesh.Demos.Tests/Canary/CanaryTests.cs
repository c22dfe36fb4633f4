using Mesh.Demos.Tests.Infrastructure;

namespace Mesh.Demos.Tests.Canary;

/// <summary>demos/canary's scripts one by one, on free ports: each split measured through web within 3 points.</summary>
[Collection(DemoCollection.Name)]
public class CanaryTests
{
    [Fact]
    public async Task Scripts_ShiftThroughThreeSplits_EachMeasuredWithin3Percent()
    {
        await using var demo = DemoRun.ForCanary();
        var started = await demo.RunAsync("demos/canary/start.sh");
        Assert.True(started.ExitCode == 0, $"start.sh failed: {started}\n{demo.Logs()}");

        // As started: 90/10.
        var initial = await MeasureAsync(demo, 1000);
        initial.AssertWithin3Percent(90, 10);

        foreach (var (v1, v2) in new[] { (50, 50), (0, 100), (90, 10) })
        {
            var shifted = await demo.RunAsync($"demos/canary/shift.sh {v1} {v2}");
            Assert.True(shifted.ExitCode == 0, $"shift.sh {v1} {v2} failed: {shifted}\n{demo.Logs()}");
            Assert.Contains($"web now sends {v1}% of its api calls to v1 and {v2}% to v2", shifted.Stdout);

            var measured = await MeasureAsync(demo, 1000);
            measured.AssertWithin3Percent(v1, v2);
        }

        var stopped = await demo.RunAsync("demos/canary/stop.sh");
        Assert.Equal(0, stopped.ExitCode);
        Assert.Empty(ProcessSweep.WithEnvironment("DEMO_STATE_DIR", demo.StateDir));
    }

    [Theory]
    [InlineData("60 30")]
    [InlineData("50")]
    [InlineData("-10 110")]
    [InlineData("half half")]
    public async Task Shift_BadWeights_RefusedWithUsage(string weights)
    {
        await using var demo = DemoRun.ForCanary();

        var result = await demo.RunAsync($"demos/canary/shift.sh {weights}");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("usage: demos/canary/shift.sh V1_WEIGHT V2_WEIGHT (integers from 0 to 100 that add up to 100)", result.Stderr);
    }

    [Fact]
    public async Task Measure_BadCount_Refused()
    {
        await using var demo = DemoRun.ForCanary();

        var result = await demo.RunAsync("demos/canary/measure.sh 0");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the number of requests must be a positive integer, not \"0\"", result.Stderr);
    }

    private static async Task<CanarySplit> MeasureAsync(DemoRun demo, int requests)
    {
        var result = await demo.RunAsync($"demos/canary/measure.sh {requests}");
        Assert.True(result.ExitCode == 0, $"measure.sh failed: {result}");
        var split = Assert.Single(CanarySplit.Parse(result.Stdout));
        Assert.Equal(requests, split.Requests);
        return split;
    }
}
