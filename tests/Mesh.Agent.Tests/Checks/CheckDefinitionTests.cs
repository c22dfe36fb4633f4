using Mesh.State.Text;
using Mesh.State.Tables;
using Mesh.Agent.Checks;

namespace Mesh.Agent.Tests.Checks;

public sealed class CheckDefinitionTests
{
    private static readonly TimeSpan Ten = TimeSpan.FromSeconds(10);

    public static TheoryData<CheckDefinition, string?> Cases() => new()
    {
        { new CheckDefinition { HTTP = "http://x/", Interval = Ten }, null },
        { new CheckDefinition { TTL = Ten }, null },
        { new CheckDefinition { Args = ["/bin/true"], Interval = Ten, Status = HealthStatus.Passing }, null },
        { new CheckDefinition { HTTP = "http://x/" }, "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks" },
        { new CheckDefinition { GRPC = "x:1", Interval = -Ten }, "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks" },
        { new CheckDefinition(), "TTL must be > 0 for TTL checks" },
        { new CheckDefinition { TTL = -Ten }, "TTL must be > 0 for TTL checks" },
        { new CheckDefinition { TTL = Ten, Interval = Ten }, "Interval and TTL cannot both be specified" },
        { new CheckDefinition { HTTP = "http://x/", TCP = "x:1", Interval = Ten }, "Only one of HTTP, TCP, UDP, GRPC, Args (script) or TTL may be specified" },
        { new CheckDefinition { UDP = "x:1", TTL = Ten }, "Only one of HTTP, TCP, UDP, GRPC, Args (script) or TTL may be specified" },
        { new CheckDefinition { TTL = Ten, Status = "maintenance" }, "Bad check status" },
        { new CheckDefinition { TCP = "x:1", Interval = Ten, Timeout = -Ten }, "Timeout must be >= 0" },
        { new CheckDefinition { TCP = "x:1", Interval = Ten, SuccessBeforePassing = -1 }, "SuccessBeforePassing must be >= 0" },
        { new CheckDefinition { TCP = "x:1", Interval = Ten, FailuresBeforeCritical = -1 }, "FailuresBeforeCritical must be >= 0" },
        { new CheckDefinition { Args = [""], Interval = Ten }, "Args must start with the program to run" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_Definition_FirstProblemOrNull(CheckDefinition definition, string? expected)
    {
        Assert.Equal(expected, definition.Validate());
    }

    [Fact]
    public void EffectiveTimeout_Unset_ConsulDefaults()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), new CheckDefinition { TCP = "x:1", Interval = Ten }.EffectiveTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), new CheckDefinition { Args = ["/bin/true"], Interval = Ten }.EffectiveTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), new CheckDefinition { TCP = "x:1", Interval = Ten, Timeout = TimeSpan.FromSeconds(2) }.EffectiveTimeout);
    }

    [Theory]
    [InlineData(200, "200ms")]
    [InlineData(1500, "1.5s")]
    [InlineData(30000, "30s")]
    [InlineData(90000, "1m30s")]
    [InlineData(3600000, "1h0m0s")]
    public void GoDuration_Span_FormatsLikeGo(int milliseconds, string expected)
    {
        Assert.Equal(expected, CheckOutput.GoDuration(TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Fact]
    public void Create_TtlDefinition_Refused()
    {
        Assert.Throws<ArgumentException>(() => new CheckProbeFactory(enableScriptChecks: true).Create(new CheckDefinition { TTL = Ten }));
    }
}
