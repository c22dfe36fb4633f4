using System.Globalization;
using System.Text.RegularExpressions;

namespace Mesh.Demos.Tests.Canary;

/// <summary>A line of demos/canary/measure.sh: <c>1000 requests through web: v1 900 (90.0%), v2 100 (10.0%), failed 0</c>.</summary>
internal sealed partial record CanarySplit(int Requests, int V1, double V1Percent, int V2, double V2Percent, int Failed)
{
    /// <summary>Every measurement line in <paramref name="output"/>, in order.</summary>
    public static IReadOnlyList<CanarySplit> Parse(string output) =>
        [.. Line().Matches(output).Select(m => new CanarySplit(
            int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture),
            double.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups[6].Value, CultureInfo.InvariantCulture)))];

    /// <summary>Asserts that the measured split is <paramref name="v1Weight"/>/<paramref name="v2Weight"/> within 3 points, with no failed request.</summary>
    public void AssertWithin3Percent(int v1Weight, int v2Weight)
    {
        Assert.Equal(0, Failed);
        Assert.Equal(Requests, V1 + V2);
        Assert.InRange(100.0 * V1 / Requests, v1Weight - 3, v1Weight + 3);
        Assert.InRange(100.0 * V2 / Requests, v2Weight - 3, v2Weight + 3);
        // The printed percentages are the counts'.
        Assert.Equal(Math.Round(100.0 * V1 / Requests, 1), V1Percent);
        Assert.Equal(Math.Round(100.0 * V2 / Requests, 1), V2Percent);
    }

    [GeneratedRegex(@"^(\d+) requests through web: v1 (\d+) \(([\d.]+)%\), v2 (\d+) \(([\d.]+)%\), failed (\d+)$", RegexOptions.Multiline)]
    private static partial Regex Line();
}
