using Mesh.State.Text;
using Mesh.Agent.Config;
using Mesh.Cli.Text;

namespace Mesh.Cli.Tests.Text;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("1s", 1_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("300ms", 300)]
    [InlineData("1m30s", 90_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("-1s", -1_000)]
    [InlineData("1000us", 1)]
    public void TryParse_GoSyntax_ParsesMilliseconds(string text, long ms)
    {
        Assert.True(GoDuration.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), d);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("1x")]
    [InlineData("s")]
    [InlineData("1..2s")]
    public void TryParse_Invalid_ReturnsFalse(string text) => Assert.False(GoDuration.TryParse(text, out _));

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(5_000, "5s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(3_600_000, "1h0m0s")]
    [InlineData(250, "250ms")]
    [InlineData(15_000, "15s")]
    public void Format_Milliseconds_GoString(long ms, string expected) =>
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromMilliseconds(ms)));

    [Fact]
    public void ToMilliseconds_SubMillisecond_RoundsUpToOne()
    {
        Assert.Equal("15000ms", GoDuration.ToMilliseconds(TimeSpan.FromSeconds(15)));
        Assert.Equal("1ms", GoDuration.ToMilliseconds(TimeSpan.FromTicks(10)));
    }
}

public sealed class GoPathTests
{
    [Theory]
    [InlineData(new[] { "a", ".lock" }, "a/.lock")]
    [InlineData(new[] { "a/", ".lock" }, "a/.lock")]
    [InlineData(new[] { "", "foo" }, "foo")]
    [InlineData(new[] { "p", "a//b/" }, "p/a/b")]
    [InlineData(new[] { "p", "../x" }, "x")]
    [InlineData(new[] { "", "" }, "")]
    public void Join_Elements_CleanedLikeGo(string[] parts, string expected) => Assert.Equal(expected, GoPath.Join(parts));

    [Theory]
    [InlineData("", ".")]
    [InlineData("/", "/")]
    [InlineData("/../a", "/a")]
    [InlineData("../a", "../a")]
    [InlineData("a/./b/", "a/b")]
    public void Clean_Paths_MatchGo(string path, string expected) => Assert.Equal(expected, GoPath.Clean(path));
}

public sealed class ColumnsTests
{
    [Fact]
    public void Columnize_Rows_PadsAllButLastColumnWithTwoSpaces()
    {
        var text = Columns.Columnize([["Node", "Address", "Status"], ["n1", "10.0.0.1:8301", "alive"]]);
        Assert.Equal("Node  Address        Status\nn1    10.0.0.1:8301  alive", text);
    }

    [Fact]
    public void KeyValueBlock_Padding_AlignsValues()
    {
        Assert.Equal("A       1\nLonger  2", Columns.KeyValueBlock([("A", "1"), ("Longer", "2")], 2));
    }

    [Fact]
    public void Wrap_LongText_IndentsEveryLine()
    {
        Assert.Equal("  aaa bbb\n  ccc", Columns.Wrap("aaa bbb ccc", 7, 2));
    }
}
