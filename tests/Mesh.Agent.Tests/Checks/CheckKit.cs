using System.Threading.Channels;
using Mesh.Agent.Checks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Agent.Tests.Checks;

/// <summary>Collects the results a monitor or TTL check reports, so tests await them instead of sleeping.</summary>
internal sealed class ResultSink
{
    /// <summary>Long enough for a loaded CI machine, short enough to fail fast.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private readonly Channel<CheckResult> _results = Channel.CreateUnbounded<CheckResult>();
    private readonly List<CheckResult> _seen = [];

    public Action<CheckResult> Callback => result => _results.Writer.TryWrite(result);

    /// <summary>Every result received so far (including those read by <see cref="NextAsync"/>).</summary>
    public IReadOnlyList<CheckResult> Seen => _seen;

    /// <summary>The next reported result; fails the test after <see cref="Wait"/>.</summary>
    public async Task<CheckResult> NextAsync()
    {
        using var cts = new CancellationTokenSource(Wait);
        try
        {
            var result = await _results.Reader.ReadAsync(cts.Token);
            _seen.Add(result);
            return result;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no check result within {Wait}; seen: {string.Join(" | ", _seen)}");
        }
    }

    /// <summary>Reads results until one has <paramref name="status"/>.</summary>
    public async Task<CheckResult> UntilAsync(string status)
    {
        while (true)
        {
            var result = await NextAsync();
            if (result.Status == status)
            {
                return result;
            }
        }
    }

    /// <summary>True if a result arrives within <paramref name="window"/> (for asserting that nothing is reported).</summary>
    public async Task<bool> AnyWithinAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            _seen.Add(await _results.Reader.ReadAsync(cts.Token));
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>A Kestrel server on 127.0.0.1 port 0 whose single endpoint runs the given handler.</summary>
internal sealed class TestHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestHttpServer(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public static async Task<TestHttpServer> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestHttpServer(app, address.TrimEnd('/') + "/health");
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}

internal static class CheckKit
{
    public static readonly ILogger Logger = NullLogger.Instance;

    /// <summary>Short enough to keep the suite fast, long enough to be meaningful.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Starts a monitor with the test floor (no 1s minimum) so intervals of 100ms are kept.</summary>
    public static CheckMonitor Monitor(CheckDefinition definition, ResultSink sink, bool enableScripts = false) =>
        new(definition, new CheckProbeFactory(enableScripts).Create(definition), sink.Callback, Logger, TimeSpan.FromMilliseconds(10));
}
