using System.Net;
using System.Net.Sockets;
using Mesh.Demos.Tests.Infrastructure;

namespace Mesh.Demos.Tests.Services;

/// <summary>How <c>mesh-demo</c> takes its flags, refuses bad ones, and stops.</summary>
public class CommandLineTests
{
    [Theory]
    [InlineData("counting -nope", "flag provided but not defined: -nope")]
    [InlineData("counting -port abc", "-port: \"abc\" is not a port number")]
    [InlineData("counting -port 70000", "-port: \"70000\" is not a port number")]
    [InlineData("counting -port", "flag needs an argument: -port")]
    [InlineData("counting extra", "unexpected argument \"extra\"")]
    [InlineData("dashboard -counting-url ftp://example", "-counting-url: \"ftp://example\" is not an absolute http:// or https:// URL")]
    [InlineData("api -version v/1", "-version: \"v/1\" is not a version")]
    [InlineData("web -bind nowhere", "-bind: \"nowhere\" is not an IP address")]
    [InlineData("web -tracing-exporter jaeger", "-tracing-exporter: unknown exporter \"jaeger\"")]
    [InlineData("web -tracing-sample-ratio 2", "-tracing-sample-ratio")]
    public async Task Run_BadFlag_PrintsUsageAndExits2(string args, string message)
    {
        var result = await MeshDemoProcess.RunToExitAsync(args.Split(' '));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.Contains($"Usage: mesh-demo {args.Split(' ')[0]} [flags]", result.Stderr);
        Assert.Contains("-port", result.Stderr);
    }

    [Theory]
    [InlineData("")]
    [InlineData("bogus")]
    public async Task Run_NoOrUnknownSubcommand_ListsSubcommandsAndExits2(string args)
    {
        var result = await MeshDemoProcess.RunToExitAsync(args.Length == 0 ? [] : [args]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Usage: mesh-demo <subcommand> [flags]", result.Stderr);
        foreach (var subcommand in (string[])["counting", "dashboard", "api", "web"]) Assert.Contains(subcommand, result.Stderr);
    }

    [Fact]
    public async Task Run_Help_PrintsFlagsWithDefaultsAndExits0()
    {
        var result = await MeshDemoProcess.RunToExitAsync(["dashboard", "-h"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("-counting-url", result.Stdout);
        Assert.Contains("default http://localhost:5000; env COUNTING_SERVICE_URL", result.Stdout);
        Assert.Contains("default 9002; env PORT", result.Stdout);
        Assert.Contains("-tracing-exporter", result.Stdout);
    }

    [Fact]
    public async Task Run_BadPortVariable_NamesTheVariableAndExits2()
    {
        var result = await MeshDemoProcess.RunToExitAsync(["counting"], new Dictionary<string, string> { ["PORT"] = "ninety" });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("PORT (environment): -port: \"ninety\" is not a port number", result.Stderr);
    }

    [Fact]
    public async Task Run_BadOtelVariable_NamesTheVariableAndExits1()
    {
        var result = await MeshDemoProcess.RunToExitAsync(["counting", "-port", "0"], new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "udp" });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("OTEL_EXPORTER_OTLP_PROTOCOL: unknown protocol \"udp\"", result.Stderr);
    }

    [Fact]
    public async Task Run_PortInUse_SaysSoAndExits1()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var result = await MeshDemoProcess.RunToExitAsync(["counting", "-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"mesh-demo counting: cannot listen on 127.0.0.1:{port}", result.Stderr);
    }

    [Fact]
    public async Task Sigterm_DashboardWithOpenPage_StopsGracefullyWithExit0()
    {
        await using var dashboard = await MeshDemoProcess.StartAsync(["dashboard", "-port", "0", "-counting-url", "http://127.0.0.1:1"]);
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{dashboard.BaseAddress.Authority}/ws"), CancellationToken.None);

        var exitCode = await dashboard.TerminateAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, exitCode);
        Assert.Contains("dashboard stopped", dashboard.Stdout);
    }
}
