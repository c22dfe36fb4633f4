using System.Net;
using Mesh.Demos.Hosting;
using Mesh.Demos.Tracing;

namespace Mesh.Demos.Canary;

/// <summary>The api service's answer: which version of it answered, and where.</summary>
/// <param name="Service">Always <c>api</c>.</param>
/// <param name="Version">The instance's version, as its <c>-version</c> flag and its registration's <c>Meta.version</c> say.</param>
/// <param name="Hostname">The host the instance runs on.</param>
internal sealed record ApiAnswer(string Service, string Version, string Hostname);

/// <summary><c>mesh-demo api</c>: the canary's back end, one instance per version; GET / says which version answered.</summary>
internal sealed class ApiService : IDemoService
{
    private string _version = "v1";

    /// <inheritdoc />
    public string Name => "api";

    /// <inheritdoc />
    public string Summary => "The canary's back end: GET / answers {\"service\":\"api\",\"version\":\"v1\",\"hostname\":\"...\"}; GET /health answers 200.";

    /// <inheritdoc />
    public int DefaultPort => 9091;

    /// <inheritdoc />
    public void AddFlags(FlagSet flags) =>
        flags.Add("version", "The version this instance reports (its registration's Meta.version).", "v1", value => _version =
            value.Trim() is { Length: > 0 } version && version.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
                ? version
                : throw new UsageException($"-version: \"{value}\" is not a version (letters, digits, '.', '-', '_')"));

    /// <inheritdoc />
    public void ConfigureServices(WebApplicationBuilder builder)
    {
    }

    /// <inheritdoc />
    public void Map(WebApplication app)
    {
        app.MapGet("/health", () => Results.Text("ok\n"));
        app.MapGet("/", async (HttpContext context) =>
        {
            using var span = DemoTracing.StartServer(context, "GET /");
            span?.SetTag("demo.version", _version);
            DemoTracing.Completed(span, HttpStatusCode.OK);
            await context.Response.WriteAsJsonAsync(new ApiAnswer(Name, _version, DemoHost.HostName), DemoJson.Default.ApiAnswer, cancellationToken: context.RequestAborted);
        });
    }
}
