using Mesh.State.Text;
using Mesh.Agent.Config;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Mesh.Cli.Http;

/// <summary>
/// The agent's HTTP API (Consul's <c>/v1</c>) over one <see cref="HttpClient"/>: builds URLs and query strings the
/// way Consul's Go client does, sends <c>X-Consul-Token</c>, reads <c>X-Consul-*</c> metadata and turns failures
/// into <see cref="ApiException"/>s. Shared by every command; tests hand it a stub <see cref="HttpMessageHandler"/>.
/// </summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    /// <param name="config">Address, token, datacenter and TLS settings.</param>
    /// <param name="handler">A handler to send through instead of the real network (tests); not disposed here.</param>
    public ApiClient(ApiConfig config, HttpMessageHandler? handler = null)
    {
        Config = config;
        _http = handler is null
            ? new HttpClient(CreateHandler(config), disposeHandler: true)
            : new HttpClient(handler, disposeHandler: false);
        // Blocking queries legitimately last up to ten minutes plus jitter; callers bound requests with their
        // cancellation token instead.
        _http.Timeout = Timeout.InfiniteTimeSpan;
        Kv = new KvEndpoint(this);
        Session = new SessionEndpoint(this);
        Event = new EventEndpoint(this);
        Agent = new AgentEndpoint(this);
        Catalog = new CatalogEndpoint(this);
    }

    public ApiConfig Config { get; }
    public KvEndpoint Kv { get; }
    public SessionEndpoint Session { get; }
    public EventEndpoint Event { get; }
    public AgentEndpoint Agent { get; }
    public CatalogEndpoint Catalog { get; }

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// Sends one request and buffers the whole response. Any status is returned; callers decide which are errors
    /// (KV reads treat 404 as "absent", for instance).
    /// </summary>
    /// <param name="method">The HTTP method.</param>
    /// <param name="path">The escaped path under the agent, starting with <c>/v1/</c>.</param>
    /// <param name="parameters">Query parameters; a null value is sent bare (<c>?recurse</c>).</param>
    /// <param name="query">Consistency and blocking options, or null.</param>
    /// <param name="body">The request body, or null for none.</param>
    /// <param name="ct">Cancels the request (blocking queries included).</param>
    /// <exception cref="ApiException">The agent could not be reached.</exception>
    public async Task<ApiResult> SendAsync(HttpMethod method, string path, IEnumerable<KeyValuePair<string, string?>>? parameters,
        QueryOptions? query, byte[]? body, CancellationToken ct)
    {
        using var response = await SendCoreAsync(method, path, parameters, query, body, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        byte[] bytes;
        try
        {
            bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw ApiException.FromTransport($"{GoVerb(method)} \"{response.RequestMessage?.RequestUri}\": {e.Message}", e);
        }
        return new ApiResult((int)response.StatusCode, bytes, ReadMeta(response));
    }

    /// <summary>Sends a request and returns as soon as the headers arrive, for streamed bodies (monitor).</summary>
    public Task<HttpResponseMessage> SendStreamingAsync(HttpMethod method, string path,
        IEnumerable<KeyValuePair<string, string?>>? parameters, CancellationToken ct) =>
        SendCoreAsync(method, path, parameters, null, null, HttpCompletionOption.ResponseHeadersRead, ct);

    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string path,
        IEnumerable<KeyValuePair<string, string?>>? parameters, QueryOptions? query, byte[]? body,
        HttpCompletionOption completion, CancellationToken ct)
    {
        var uri = BuildUri(path, parameters, query);
        using var request = new HttpRequestMessage(method, uri);
        if (!string.IsNullOrEmpty(Config.Token)) request.Headers.TryAddWithoutValidation("X-Consul-Token", Config.Token);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }
        try
        {
            return await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw ApiException.FromTransport($"{GoVerb(method)} \"{uri.AbsoluteUri}\": {DescribeTransportError(e)}", e);
        }
    }

    /// <summary>
    /// The request URI: the path plus query parameters sorted by name, as Go's <c>url.Values.Encode</c> orders
    /// them, with <c>dc</c> from the configuration and the consistency/blocking options.
    /// </summary>
    public Uri BuildUri(string path, IEnumerable<KeyValuePair<string, string?>>? parameters, QueryOptions? query)
    {
        var all = new List<KeyValuePair<string, string?>>();
        if (!string.IsNullOrEmpty(Config.Datacenter)) all.Add(new("dc", Config.Datacenter));
        if (query is not null)
        {
            if (query.AllowStale) all.Add(new("stale", null));
            if (query.RequireConsistent) all.Add(new("consistent", null));
            if (query.WaitIndex != 0) all.Add(new("index", query.WaitIndex.ToString(CultureInfo.InvariantCulture)));
            if (query.WaitTime > TimeSpan.Zero) all.Add(new("wait", GoDuration.ToMilliseconds(query.WaitTime)));
        }
        if (parameters is not null) all.AddRange(parameters);

        // Stable sort: a repeated parameter (?tag=a&tag=b) keeps its order, as in Go.
        var sb = new StringBuilder(path.TrimStart('/'));
        var first = true;
        foreach (var (k, v) in all.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            sb.Append(first ? '?' : '&');
            first = false;
            sb.Append(Uri.EscapeDataString(k));
            if (v is not null) sb.Append('=').Append(Uri.EscapeDataString(v));
        }
        return new Uri(Config.BaseUri, sb.ToString());
    }

    /// <summary>
    /// Escapes a KV key for the URL path as Go's <c>url.URL.EscapedPath</c> does: slashes and <c>$&amp;+,:;=@</c>
    /// stay, everything outside the unreserved set is percent-encoded.
    /// </summary>
    public static string EscapePath(string key)
    {
        var sb = new StringBuilder(key.Length);
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || "-_.~/$&+,:;=@".Contains(c)) sb.Append(c);
            else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Throws unless the status is 200, with Consul's "Unexpected response code" wording.</summary>
    public static ApiResult RequireOk(ApiResult result) =>
        result.Status == 200 ? result : throw ApiException.FromStatus(result.Status, result.BodyText);

    private static QueryMeta ReadMeta(HttpResponseMessage response)
    {
        static string? Header(HttpResponseMessage r, string name) =>
            r.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : null;
        ulong.TryParse(Header(response, "X-Consul-Index"), NumberStyles.None, CultureInfo.InvariantCulture, out var index);
        var knownLeader = string.Equals(Header(response, "X-Consul-KnownLeader"), "true", StringComparison.OrdinalIgnoreCase);
        ulong.TryParse(Header(response, "X-Consul-LastContact"), NumberStyles.None, CultureInfo.InvariantCulture, out var lastContact);
        return new QueryMeta(index, knownLeader, TimeSpan.FromMilliseconds(lastContact));
    }

    /// <summary>Go's <c>url.Error</c> names the method with only its first letter capitalised ("Get", "Put").</summary>
    private static string GoVerb(HttpMethod method) => method.Method[..1] + method.Method[1..].ToLowerInvariant();

    private string DescribeTransportError(HttpRequestException e)
    {
        var socket = FindInner<SocketException>(e);
        var target = Config.Scheme == "unix" ? $"unix {Config.Address}" : $"tcp {Config.Address}";
        if (socket is null) return e.InnerException?.Message ?? e.Message;
        return socket.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => $"dial {target}: connect: connection refused",
            SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain =>
                $"dial tcp: lookup {Config.Address[..Math.Max(0, Config.Address.LastIndexOf(':'))]}: no such host",
            SocketError.TimedOut => $"dial {target}: i/o timeout",
            SocketError.AddressNotAvailable when Config.Scheme == "unix" => $"dial {target}: connect: no such file or directory",
            _ => $"dial {target}: {socket.Message}",
        };
    }

    private static T? FindInner<T>(Exception e) where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is T t) return t;
        return null;
    }

    private static SocketsHttpHandler CreateHandler(ApiConfig config)
    {
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.GZip,
            ConnectTimeout = TimeSpan.FromSeconds(30),
        };
        if (config.Scheme == "unix")
        {
            var socketPath = config.Address;
            handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        if (config.Scheme == "https") ConfigureTls(handler, config.Tls);
        return handler;
    }

    private static void ConfigureTls(SocketsHttpHandler handler, TlsSettings tls)
    {
        var ssl = new SslClientAuthenticationOptions();
        if (tls.ServerName is not null) ssl.TargetHost = tls.ServerName;
        if (tls.ClientCert is not null)
        {
            var cert = X509Certificate2.CreateFromPemFile(tls.ClientCert, tls.ClientKey);
            ssl.ClientCertificates = [cert];
        }
        var roots = new X509Certificate2Collection();
        if (tls.CaFile is not null) roots.ImportFromPemFile(tls.CaFile);
        if (tls.CaPath is not null)
            foreach (var file in Directory.EnumerateFiles(tls.CaPath).Order(StringComparer.Ordinal))
                roots.ImportFromPemFile(file);

        if (!tls.Verify)
        {
            ssl.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (roots.Count > 0)
        {
            // A private CA replaces the system trust store, as Consul's -ca-file does; the host name is still checked.
            ssl.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            };
        }
        handler.SslOptions = ssl;
    }
}

/// <summary>A buffered response.</summary>
/// <param name="Status">The HTTP status code.</param>
/// <param name="Body">The body bytes.</param>
/// <param name="Meta">The <c>X-Consul-*</c> metadata.</param>
internal sealed record ApiResult(int Status, byte[] Body, QueryMeta Meta)
{
    /// <summary>The body as UTF-8 text, trailing newline removed (error bodies end with one).</summary>
    public string BodyText => Encoding.UTF8.GetString(Body).TrimEnd('\n');
}
