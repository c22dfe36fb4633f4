using Mesh.Cli.Http;
using Mesh.Cli.Locks;
using Mesh.Cli.Tests.Support;

namespace Mesh.Cli.Tests.Locks;

public sealed class SessionKeeperTests
{
    [Fact]
    public async Task Renewal_SessionAlive_RenewsEveryHalfTtlUntilDestroyed()
    {
        var stub = new StubHandler()
            .On("PUT", "/v1/session/create", 200, """{"ID":"s"}""")
            .On("PUT", "/v1/session/renew/s", 200, """[{"ID":"s","TTL":"200ms"}]""")
            .On("PUT", "/v1/session/destroy/s", 200, "true");
        using var client = new ApiClient(new ApiConfig(), stub);
        var keeper = await SessionKeeper.CreateAsync(client, "n", TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), null, default);
        await Eventually.TrueAsync(() => stub.Requests.Count(r => r.Path.Contains("renew")) >= 3, "three renewals");
        await keeper.DestroyAsync(default);
        var renewals = stub.Requests.Count(r => r.Path.Contains("renew"));
        Assert.Equal("PUT /v1/session/destroy/s", stub.Log[^1]);
        Assert.Equal("""{"Name":"n","LockDelay":"1s","TTL":"200ms"}""", stub.Requests.First().BodyText);
        Assert.Equal(renewals, stub.Requests.Count(r => r.Path.Contains("renew")));
    }

    [Fact]
    public async Task Renewal_SessionGone_StopsRenewing()
    {
        var stub = new StubHandler()
            .On("PUT", "/v1/session/create", 200, """{"ID":"s"}""")
            .On("PUT", "/v1/session/renew/s", 404, "")
            .On("PUT", "/v1/session/destroy/s", 200, "true");
        using var client = new ApiClient(new ApiConfig(), stub);
        var keeper = await SessionKeeper.CreateAsync(client, "n", TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), null, default);
        await Eventually.TrueAsync(() => stub.Requests.Any(r => r.Path.Contains("renew")), "a renewal");
        // Give a still-running renewal loop ample time to show itself before counting.
        await Task.Delay(400);
        Assert.Equal(1, stub.Requests.Count(r => r.Path.Contains("renew")));
        await keeper.DestroyAsync(default);
    }
}
