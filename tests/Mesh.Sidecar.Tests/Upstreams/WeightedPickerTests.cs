using Mesh.Sidecar.Upstreams;
using Mesh.Sidecar.Tests.Http;

namespace Mesh.Sidecar.Tests.Upstreams;

public class WeightedPickerTests
{
    [Fact]
    public void Pick_EightyTwenty_ExactOverTwoThousand()
    {
        var set = Build.Split(("a", 80), ("b", 20));
        var counts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0 };
        for (var i = 0; i < 2000; i++) counts[WeightedPicker.Pick(set).Name]++;
        Assert.Equal(1600, counts["a"]);
        Assert.Equal(400, counts["b"]);
    }

    [Fact]
    public void BuildOrder_Weights_InterleavesAndReducesByDivisor()
    {
        var order = WeightedPicker.BuildOrder([8000, 2000]);
        Assert.Equal(5, order.Length);
        Assert.Equal(4, order.Count(i => i == 0));
        // Smooth: the minority choice is not at either end of a run of majority choices.
        Assert.Equal([0, 0, 1, 0, 0], order);
    }

    [Fact]
    public void BuildOrder_ZeroWeightChoice_NeverPicked()
    {
        var order = WeightedPicker.BuildOrder([0, 3, 1]);
        Assert.DoesNotContain(0, order);
        Assert.Equal(4, order.Length);
    }

    [Fact]
    public void Pick_ConcurrentCallers_StayExact()
    {
        var set = Build.Split(("a", 3), ("b", 1));
        var b = 0;
        Parallel.For(0, 4000, _ =>
        {
            if (WeightedPicker.Pick(set).Name == "b") Interlocked.Increment(ref b);
        });
        Assert.Equal(1000, b);
    }
}

public class WeightedPickerLimitTests
{
    [Fact]
    public void BuildOrder_HugeWeights_ScaledToTenThousandStepsKeepingTheRatio()
    {
        var order = WeightedPicker.BuildOrder([int.MaxValue - 1, (int.MaxValue - 1) / 3, 1]);

        Assert.True(order.Length <= 10_002, $"order of {order.Length} steps");
        Assert.Contains(2, order);
        var first = order.Count(i => i == 0);
        var second = order.Count(i => i == 1);
        Assert.InRange(first / (double)second, 2.9, 3.1);
    }
}
