using Mesh.Demos.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Mesh.Demos.Tests.Connect;

/// <summary>
/// The connect demo as a person sees it: demos/connect/start.sh on free ports, then Debian's chromium (headless,
/// driven by Playwright) on the dashboard page while intentions change.
/// </summary>
[Collection(DemoCollection.Name)]
public class DashboardBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Dashboard_DenyThenDeleteIntention_ShowsUnreachableThenCountsAgain()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: tests/setup.sh installs Debian's chromium");
        await using var demo = DemoRun.ForConnect();
        var started = await demo.RunAsync("demos/connect/start.sh");
        Assert.True(started.ExitCode == 0, $"start.sh failed: {started}\n{demo.Logs()}");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
        var page = await browser.NewPageAsync();
        try
        {
            await page.GotoAsync($"http://localhost:{demo.Ports["DASHBOARD_PORT"]}/");
            var banner = page.Locator("#banner");
            var count = page.Locator("#count");

            await Assertions.Expect(banner).ToHaveTextAsync("Connected to the counting service", new() { Timeout = 30_000 });
            var first = await CountAsync(count);
            await WaitForCountAboveAsync(page, first);
            Assert.Equal(System.Net.Dns.GetHostName(), await page.Locator("#hostname").TextContentAsync());

            var deny = await demo.MeshAsync("intention create -deny dashboard counting");
            Assert.True(deny.ExitCode == 0, deny.ToString());
            await Assertions.Expect(banner).ToHaveTextAsync("Counting service is unreachable", new() { Timeout = 30_000 });
            await Assertions.Expect(banner).ToHaveClassAsync("unreachable");
            Assert.NotEqual("", await page.Locator("#reason").TextContentAsync());
            var whileDenied = await CountAsync(count);

            var delete = await demo.MeshAsync("intention delete dashboard counting");
            Assert.True(delete.ExitCode == 0, delete.ToString());
            await Assertions.Expect(banner).ToHaveTextAsync("Connected to the counting service", new() { Timeout = 30_000 });
            await WaitForCountAboveAsync(page, whileDenied);
            Assert.Equal("", await page.Locator("#reason").TextContentAsync());
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException or Xunit.Sdk.XunitException)
        {
            var screenshot = Path.Combine(Path.GetTempPath(), $"mesh-dashboard-{Guid.NewGuid():N}.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot });
            throw new InvalidOperationException($"{e.Message}\npage: {await page.Locator("main").InnerTextAsync()}\nscreenshot: {screenshot}\n{demo.Logs()}", e);
        }
    }

    private static async Task<long> CountAsync(ILocator count) =>
        long.TryParse(await count.TextContentAsync(), out var value) ? value : -1;

    /// <summary>Waits (in the page) until the shown count is above <paramref name="above"/>: the count rises live.</summary>
    private static Task WaitForCountAboveAsync(IPage page, long above) =>
        page.WaitForFunctionAsync("n => Number(document.getElementById('count').textContent) > n", above, new() { Timeout = 30_000 });
}
