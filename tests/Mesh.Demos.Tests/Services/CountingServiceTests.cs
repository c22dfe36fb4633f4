using System.Net;
using System.Net.Http.Json;
using Mesh.Demos.Tests.Infrastructure;

namespace Mesh.Demos.Tests.Services;

/// <summary><c>mesh-demo counting</c> as a process.</summary>
public class CountingServiceTests
{
    private sealed record Count(long count, string hostname);

    [Fact]
    public async Task Get_Root_CountsFromOneUpByOne()
    {
        await using var counting = await MeshDemoProcess.StartAsync(["counting", "-port", "0"]);
        using var http = new HttpClient { BaseAddress = counting.BaseAddress };

        var answers = new List<Count>();
        for (var i = 0; i < 3; i++) answers.Add((await http.GetFromJsonAsync<Count>("/"))!);

        Assert.Equal([1L, 2L, 3L], answers.Select(a => a.count));
        Assert.All(answers, a => Assert.Equal(Dns.GetHostName(), a.hostname));
    }

    [Fact]
    public async Task Get_Health_Answers200WithoutCounting()
    {
        await using var counting = await MeshDemoProcess.StartAsync(["counting", "-port", "0"]);
        using var http = new HttpClient { BaseAddress = counting.BaseAddress };

        using var health = await http.GetAsync("/health");
        var first = await http.GetFromJsonAsync<Count>("/any/other/path");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(1, first!.count);
    }

    [Fact]
    public async Task Post_Root_IsRefusedAndNotCounted()
    {
        await using var counting = await MeshDemoProcess.StartAsync(["counting", "-port", "0"]);
        using var http = new HttpClient { BaseAddress = counting.BaseAddress };

        using var post = await http.PostAsync("/", null);
        var first = await http.GetFromJsonAsync<Count>("/");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(1, first!.count);
    }

    [Fact]
    public async Task Port_FromEnvironment_IsUsed()
    {
        var port = FreePorts.Take(1)[0];
        await using var counting = await MeshDemoProcess.StartAsync(["counting"], new Dictionary<string, string> { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Equal(port, counting.BaseAddress.Port);
    }
}
