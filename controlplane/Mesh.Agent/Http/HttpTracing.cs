using System.Diagnostics;
using Mesh.Tracing;
using Microsoft.AspNetCore.Http;

namespace Mesh.Agent.Http;

/// <summary>
/// A server span per HTTP API request, on the <c>Mesh.Agent</c> source: named after the route's template
/// (<c>GET /v1/kv/{key}</c>, so names stay few however many keys there are), a child of the caller's span when the
/// request carries W3C <c>traceparent</c> or B3 headers. When nothing listens to the source (tracing off) no span
/// is made and the headers are not even read.
/// </summary>
internal static class HttpTracing
{
    /// <summary>The agent's source; <c>Mesh.*</c>, the tracing library's default, covers it.</summary>
    public static readonly ActivitySource Source = new("Mesh.Agent");

    /// <summary>Starts the request's span, named by its method until the route is known; null when nobody listens.</summary>
    public static Activity? Start(HttpContext http)
    {
        if (!Source.HasListeners()) return null;
        var request = http.Request;
        var parent = Propagation.Extract(request.Headers, static (headers, name) =>
            headers.TryGetValue(name, out var values) && values.Count > 0 ? values.ToString() : null);
        // A caller that decided not to sample (b3: 0) gets no span, as one with an unsampled traceparent would not.
        if (parent is { HasIds: false, Sampled: false }) return null;
        ActivityContext context = default;
        if (parent is { } p && p.TryGetActivityContext(out var remote))
        {
            context = remote;
        }
        else if (Activity.Current is not null)
        {
            // Without a caller's context the request starts a new trace; an activity the web server may have made
            // must not become its parent.
            Activity.Current = null;
        }

        var activity = Source.StartActivity(request.Method, ActivityKind.Server, context);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("http.request.method", request.Method);
            // The query is left out: it may hold a token (?token=).
            activity.SetTag("url.path", request.Path.Value);
            activity.SetTag("url.scheme", request.Scheme);
            activity.SetTag("network.protocol.version", ProtocolVersion(request.Protocol));
            activity.SetTag("client.address", http.Connection.RemoteIpAddress?.ToString());
        }

        return activity;
    }

    /// <summary>Names the span after the matched route, as OpenTelemetry's HTTP conventions do: <c>{method} {route}</c>.</summary>
    public static void SetRoute(Activity activity, string spanName, string template)
    {
        activity.DisplayName = spanName;
        if (activity.IsAllDataRequested) activity.SetTag("http.route", template);
    }

    /// <summary>Ends the span with the response status; a 5xx marks it as an error (a 4xx is the client's).</summary>
    public static void Stop(Activity activity, HttpContext http)
    {
        var aborted = http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted;
        if (activity.IsAllDataRequested)
        {
            if (aborted)
            {
                activity.SetTag("error.type", "request_aborted");
            }
            else
            {
                var status = http.Response.StatusCode;
                activity.SetTag("http.response.status_code", status);
                if (status >= 500)
                {
                    activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    activity.SetStatus(ActivityStatusCode.Error);
                }
            }
        }

        activity.Stop();
    }

    /// <summary><c>HTTP/1.1</c> as OpenTelemetry writes it: <c>1.1</c>.</summary>
    private static string ProtocolVersion(string protocol) => protocol switch
    {
        "HTTP/1.1" => "1.1",
        "HTTP/2" => "2",
        "HTTP/1.0" => "1.0",
        "HTTP/3" => "3",
        _ => protocol,
    };
}
