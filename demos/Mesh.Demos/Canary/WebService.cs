using System.Net;
using System.Net.Http.Headers;
using Mesh.Demos.Hosting;
using Mesh.Demos.Tracing;

namespace Mesh.Demos.Canary;

/// <summary>
/// <c>mesh-demo web</c>: the canary's front end. GET / calls api through <c>API_URL</c> (web's sidecar upstream, where
/// the splitter picks v1 or v2 for each request) and relays api's JSON; 502 with a JSON error when api cannot answer.
/// </summary>
internal sealed class WebService : IDemoService
{
    private Uri _apiUrl = new("http://localhost:5001");

    /// <inheritdoc />
    public string Name => "web";

    /// <inheritdoc />
    public string Summary => "The canary's front end: GET / calls api at API_URL and relays its JSON; 502 with {\"error\":\"...\"} when api cannot answer.";

    /// <inheritdoc />
    public int DefaultPort => 9090;

    /// <inheritdoc />
    public void AddFlags(FlagSet flags) =>
        flags.Add("api-url", "The api service's URL: its upstream's local port on web's sidecar.", "http://localhost:5001",
            value => _apiUrl = FlagSet.ParseHttpUrl("api-url", value), "API_URL");

    /// <inheritdoc />
    public void ConfigureServices(WebApplicationBuilder builder) =>
        // Connections to the sidecar are kept alive: the split is made per request (L7), not per connection.
        builder.Services.AddSingleton(_ => DemoTracing.CreateHttpClient(TimeSpan.FromSeconds(10)));

    /// <inheritdoc />
    public void Map(WebApplication app)
    {
        app.MapGet("/health", () => Results.Text("ok\n"));
        app.MapGet("/", RelayAsync);
    }

    private async Task RelayAsync(HttpContext context, HttpClient http)
    {
        using var span = DemoTracing.StartServer(context, "GET /");
        string error;
        using (var request = new HttpRequestMessage(HttpMethod.Get, _apiUrl))
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var call = DemoTracing.StartClient(request, "api", context);
            try
            {
                using var response = await http.SendAsync(request, context.RequestAborted);
                var body = await response.Content.ReadAsStringAsync(context.RequestAborted);
                DemoTracing.Completed(call, response.StatusCode);
                if (response.IsSuccessStatusCode)
                {
                    DemoTracing.Completed(span, HttpStatusCode.OK);
                    context.Response.ContentType = "application/json; charset=utf-8";
                    await context.Response.WriteAsync(body, context.RequestAborted);
                    return;
                }

                error = $"api answered {(int)response.StatusCode} {response.ReasonPhrase}: {body.Trim()}";
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                error = $"api did not answer at {_apiUrl} within {http.Timeout.TotalSeconds:0}s";
                DemoTracing.Failed(call, error);
            }
            catch (HttpRequestException e)
            {
                error = $"api unreachable at {_apiUrl}: {e.Message}{(e.InnerException is { } inner ? ": " + inner.Message : "")}";
                DemoTracing.Failed(call, error, e);
            }
        }

        DemoTracing.Completed(span, HttpStatusCode.BadGateway);
        context.Response.StatusCode = StatusCodes.Status502BadGateway;
        await context.Response.WriteAsJsonAsync(new ErrorAnswer(error), DemoJson.Default.ErrorAnswer, cancellationToken: context.RequestAborted);
    }
}
