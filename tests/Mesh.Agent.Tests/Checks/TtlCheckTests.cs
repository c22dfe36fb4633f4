using Mesh.State.Tables;
using Mesh.Agent.Checks;

namespace Mesh.Agent.Tests.Checks;

public sealed class TtlCheckTests
{
    [Fact]
    public async Task TtlCheck_NoUpdate_ExpiresCritical()
    {
        var sink = new ResultSink();
        using var check = new TtlCheck(new CheckDefinition { TTL = TimeSpan.FromMilliseconds(100), Status = HealthStatus.Passing }, sink.Callback, CheckKit.Logger);
        Assert.Equal(HealthStatus.Passing, check.Current.Status);

        var expired = await sink.NextAsync();

        Assert.Equal(new CheckResult(HealthStatus.Critical, "TTL expired"), expired);
    }

    [Fact]
    public async Task Update_BeforeTtl_KeepsStatusThenExpiresWithLastOutput()
    {
        var sink = new ResultSink();
        var ttl = TimeSpan.FromMilliseconds(300);
        using var check = new TtlCheck(new CheckDefinition { TTL = ttl }, sink.Callback, CheckKit.Logger);

        var started = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 5; i++)
        {
            check.Update(HealthStatus.Passing, "alive " + i);
            Assert.Equal(new CheckResult(HealthStatus.Passing, "alive " + i), await sink.NextAsync());
            await Task.Delay(ttl / 3);
        }

        // Five refreshes spanning more than one TTL kept it from expiring; now it lapses.
        Assert.True(started.Elapsed > ttl);
        Assert.Equal(HealthStatus.Passing, check.Current.Status);
        var expired = await sink.NextAsync();
        Assert.Equal(new CheckResult(HealthStatus.Critical, "TTL expired (last output before timeout follows): alive 4"), expired);
    }

    [Fact]
    public void Update_LongOutput_TruncatedAsConsul()
    {
        using var check = new TtlCheck(new CheckDefinition { TTL = TimeSpan.FromMinutes(1) }, _ => { }, CheckKit.Logger);

        var stored = check.Update(HealthStatus.Warning, new string('x', 5000));

        Assert.Equal(new string('x', 4096) + " ... (captured 4096 of 5000 bytes)", stored);
        Assert.Equal(new CheckResult(HealthStatus.Warning, stored), check.Current);
    }

    [Fact]
    public void Update_BadStatus_Throws()
    {
        using var check = new TtlCheck(new CheckDefinition { TTL = TimeSpan.FromMinutes(1) }, _ => { }, CheckKit.Logger);

        Assert.Throws<ArgumentException>(() => check.Update("maintenance", string.Empty));
    }
}
