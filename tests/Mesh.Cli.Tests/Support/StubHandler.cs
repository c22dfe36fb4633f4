using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Mesh.Cli.Tests.Support;

/// <summary>A request the stub received.</summary>
internal sealed record RecordedRequest(string Method, string Path, string Query, byte[] Body, string? Token)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>"METHOD /path?query", for asserting sequences.</summary>
    public override string ToString() => Query.Length == 0 ? $"{Method} {Path}" : $"{Method} {Path}?{Query}";
}

/// <summary>
/// An in-memory agent: routes by method and path to responders, records every request, and answers 599 for
/// anything unrouted (which tests assert never happens).
/// </summary>
internal sealed class StubHandler : HttpMessageHandler
{
    private readonly List<(string Method, string Path, Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>> Respond)> _routes = [];

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public IReadOnlyList<string> Log => Requests.Select(r => r.ToString()).ToList();

    public IEnumerable<RecordedRequest> Unrouted => Requests.Where(r => !_routes.Any(x => x.Method == r.Method && x.Path == r.Path));

    /// <summary>Routes METHOD path (escaped, without query) to a responder; later routes for the same path win.</summary>
    public StubHandler On(string method, string path, Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>> respond)
    {
        _routes.Insert(0, (method, path, respond));
        return this;
    }

    public StubHandler On(string method, string path, Func<RecordedRequest, HttpResponseMessage> respond) =>
        On(method, path, (r, _) => Task.FromResult(respond(r)));

    public StubHandler On(string method, string path, int status, string body = "", ulong? index = null) =>
        On(method, path, _ => Response(status, body, index));

    /// <summary>Answers successive requests with successive responders; the last one repeats.</summary>
    public StubHandler OnSequence(string method, string path, params Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>>[] responders)
    {
        var next = 0;
        return On(method, path, (r, ct) =>
        {
            var i = Math.Min(Interlocked.Increment(ref next) - 1, responders.Length - 1);
            return responders[i](r, ct);
        });
    }

    public static HttpResponseMessage Response(int status, string body = "", ulong? index = null)
    {
        var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (index is { } i) response.Headers.Add("X-Consul-Index", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return response;
    }

    public static Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>> Reply(int status, string body = "", ulong? index = null) =>
        (_, _) => Task.FromResult(Response(status, body, index));

    /// <summary>A blocking query that never returns until the client gives up (cancels).</summary>
    public static Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>> Block(TaskCompletionSource? reached = null) =>
        async (_, ct) =>
        {
            reached?.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var uri = request.RequestUri!;
        var token = request.Headers.TryGetValues("X-Consul-Token", out var t) ? t.Single() : null;
        var recorded = new RecordedRequest(request.Method.Method, uri.AbsolutePath, uri.Query.TrimStart('?'), body, token);
        Requests.Enqueue(recorded);
        foreach (var (method, path, respond) in _routes)
        {
            if (method == recorded.Method && path == recorded.Path)
            {
                var response = await respond(recorded, cancellationToken);
                response.RequestMessage = request;
                return response;
            }
        }
        return new HttpResponseMessage((HttpStatusCode)599) { Content = new StringContent($"no stub for {recorded}"), RequestMessage = request };
    }
}
