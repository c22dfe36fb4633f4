using System.Diagnostics;
using System.Net;
using Mesh.Tracing;

namespace Mesh.Demos.Tracing;

/// <summary>
/// The demos' spans: a server span for each request a service answers, whose parent is the caller's span as
/// <c>traceparent</c> or B3 carry it, and a client span for each call a service makes, whose context goes out in
/// <c>traceparent</c> and <c>X-B3-*</c> (Mesh.Tracing's <see cref="Propagation"/>), so a trace stays whole through
/// the sidecars between the services. Every method takes a null span: with tracing off nothing is recorded.
/// </summary>
internal static class DemoTracing
{
    /// <summary>The demos' source; <see cref="TracingOptions.DefaultSources"/> (<c>Mesh.*</c>) records it.</summary>
    public static readonly ActivitySource Source = new("Mesh.Demos");

    /// <summary>Starts the server span of a request, under the caller's span when the request carries one.</summary>
    public static Activity? StartServer(HttpContext context, string name)
    {
        var parent = Propagation.Extract(context.Request.Headers, static (headers, header) => headers[header].ToString() is { Length: > 0 } value ? value : null);
        var parentContext = parent is { } p && p.TryGetActivityContext(out var remote) ? remote : default;
        // A default context means "under Activity.Current"; ASP.NET Core may have put an unexported activity of its
        // own there, which would break the chain between the caller's span and this one.
        Activity.Current = null;
        var span = Source.StartActivity(name, ActivityKind.Server, parentContext);
        if (span is null) return null;
        span.SetTag("http.request.method", context.Request.Method);
        span.SetTag("url.path", context.Request.Path.Value);
        span.SetTag("url.scheme", context.Request.Scheme);
        span.SetTag("server.port", context.Connection.LocalPort);
        span.SetTag("client.address", context.Connection.RemoteIpAddress?.ToString());
        return span;
    }

    /// <summary>
    /// Starts the client span of a call to <paramref name="peerService"/> and puts its context in
    /// <paramref name="request"/>'s headers. Without a span (tracing off), the headers of <paramref name="incoming"/>,
    /// when given, are handed on unchanged, so traced services on both sides still meet in one trace.
    /// </summary>
    public static Activity? StartClient(HttpRequestMessage request, string peerService, HttpContext? incoming = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var span = Source.StartActivity($"{request.Method.Method} {peerService}", ActivityKind.Client);
        if (span is not null)
        {
            span.SetTag("http.request.method", request.Method.Method);
            span.SetTag("url.full", request.RequestUri?.ToString());
            span.SetTag("server.address", request.RequestUri?.Host);
            span.SetTag("server.port", request.RequestUri?.Port);
            span.SetTag("peer.service", peerService);
            Propagation.Inject(span, request.Headers, static (headers, name, value) =>
            {
                headers.Remove(name);
                headers.TryAddWithoutValidation(name, value);
            });
        }
        else if (incoming is not null)
        {
            foreach (var name in Propagation.HeaderNames)
            {
                if (incoming.Request.Headers.TryGetValue(name, out var values)) request.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        return span;
    }

    /// <summary>Records the response status; a server error (or any client-side error status on a client span) marks the span failed.</summary>
    public static void Completed(Activity? span, HttpStatusCode status)
    {
        if (span is null) return;
        var code = (int)status;
        span.SetTag("http.response.status_code", code);
        if (code >= 500 || (code >= 400 && span.Kind == ActivityKind.Client))
        {
            span.SetTag("error.type", code.ToString(System.Globalization.CultureInfo.InvariantCulture));
            span.SetStatus(ActivityStatusCode.Error, $"HTTP {code}");
        }
    }

    /// <summary>Marks the span failed with <paramref name="reason"/> (a call that got no answer).</summary>
    public static void Failed(Activity? span, string reason, Exception? exception = null)
    {
        if (span is null) return;
        span.SetTag("error.type", exception?.GetType().FullName ?? "error");
        span.SetStatus(ActivityStatusCode.Error, reason);
    }

    /// <summary>
    /// An <see cref="HttpClient"/> that leaves trace headers to <see cref="StartClient"/>: the runtime's own
    /// propagation would otherwise add a <c>traceparent</c> naming a span no exporter records.
    /// </summary>
    public static HttpClient CreateHttpClient(TimeSpan timeout) =>
        new(new SocketsHttpHandler
        {
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
            ConnectTimeout = timeout,
        })
        {
            Timeout = timeout,
        };
}
