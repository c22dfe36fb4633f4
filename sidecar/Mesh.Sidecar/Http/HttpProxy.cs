using System.Buffers;
using System.Diagnostics;
using System.Net;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Rbac;
using Mesh.Sidecar.Upstreams;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Mesh.Sidecar.Http;

/// <summary>
/// The HTTP connection manager and router of the native sidecar. Per request it reads the current
/// <see cref="SidecarState"/> once, so a new route, split, endpoint set or certificate applies to the next request
/// while requests in flight finish on what they started with: HTTP RBAC, route table (inline or RDS), virtual host,
/// route, cluster (weighted exactly over time), then forwarding with retries and timeouts through one
/// <see cref="HttpMessageInvoker"/> per cluster.
/// </summary>
/// <remarks>
/// Timeouts follow Envoy for ordinary requests: the route timeout (15 s unless set, zero for none) covers the whole
/// upstream response, and expiring before the response headers is a 504 <c>upstream request timeout</c> (after them,
/// the downstream stream is reset). gRPC calls and upgraded connections are long-lived streams whose length says
/// nothing about health, so for them the route timeout covers only the wait for the response headers, and the
/// route's idle timeout (when set) closes the stream once neither side has sent anything for that long.
/// </remarks>
internal sealed partial class HttpProxy : IHttpProxy, IDisposable
{
    /// <summary>Request bodies up to this size (with a known length) are buffered so the request can be retried.</summary>
    internal const int MaxRetryBufferBytes = 64 * 1024;

    private static readonly TimeSpan DefaultRouteTimeout = TimeSpan.FromSeconds(15);

    private readonly StateHolder _state;
    private readonly IClusterManager _clusters;
    private readonly SidecarMetrics _metrics;
    private readonly ProxyMetrics _hot;
    private readonly ILogger _logger;
    private readonly ILogger _accessLog;
    private readonly ForwarderPool _pool;
    private readonly TracingConfig? _defaultTracing;

    /// <summary>Creates the proxy over the state and clusters of one sidecar.</summary>
    /// <param name="state">The served state.</param>
    /// <param name="clusters">The cluster manager.</param>
    /// <param name="metrics">The proxy's metrics.</param>
    /// <param name="loggerFactory">Loggers, including the access log.</param>
    /// <param name="defaultTracing">Tracing for HTTP listeners whose xDS configuration has none: set when the process
    /// exports spans, so every request is traced; null leaves those listeners' trace headers untouched.</param>
    public HttpProxy(StateHolder state, IClusterManager clusters, SidecarMetrics metrics, ILoggerFactory loggerFactory, TracingConfig? defaultTracing = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _state = state;
        _clusters = clusters;
        _metrics = metrics;
        _hot = new ProxyMetrics(metrics);
        _logger = loggerFactory.CreateLogger<HttpProxy>();
        _accessLog = loggerFactory.CreateLogger(AccessLog.Category);
        _pool = new ForwarderPool(clusters);
        _defaultTracing = defaultTracing;
    }

    /// <summary>Live per-cluster invokers (for tests).</summary>
    internal int ForwarderCount => _pool.Count;

    /// <inheritdoc />
    public async Task HandleAsync(HttpContext context, string listenerName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(listenerName);
        var exchange = new Exchange(context, Stopwatch.GetTimestamp());
        var state = _state.Current;
        _pool.Prune(state);
        var statPrefix = listenerName;
        var span = RequestSpan.Disabled;
        try
        {
            if (!state.Listeners.TryGetValue(listenerName, out var listener) || listener.App is not HttpConnectionManagerConfig hcm)
            {
                await LocalReplyAsync(exchange, StatusCodes.Status503ServiceUnavailable, $"listener {listenerName} is not configured for HTTP", "NC").ConfigureAwait(false);
                return;
            }

            statPrefix = hcm.StatPrefix;
            exchange.RequestId = EnsureRequestId(context.Request);
            span = RequestTracing.Start(hcm.Tracing ?? _defaultTracing, context.Request, listener.Direction);
            var peer = context.Connection.ClientCertificate;
            var view = new RequestView(context.Request, peer is null ? null : CertificateDetails.Of(peer).Principal);
            if (span.Activity is not null && listener.Direction == TrafficDirection.Inbound) span.SetPeerService(RequestTracing.ServiceOf(view.Principal));

            if (hcm.HttpRbac is { } rbac)
            {
                var decision = RbacEvaluator.Evaluate(rbac, view);
                if (!decision.Allowed)
                {
                    _metrics.RbacDenied.With(statPrefix).Inc();
                    await LocalReplyAsync(exchange, StatusCodes.Status403Forbidden, DenialText(decision), "RBAC").ConfigureAwait(false);
                    return;
                }

                _hot.RbacAllowed(statPrefix);
            }

            var table = hcm.InlineRoutes;
            if (table is null && (hcm.RdsName is null || !state.Routes.TryGetValue(hcm.RdsName, out table)))
            {
                await LocalReplyAsync(exchange, StatusCodes.Status404NotFound, $"route configuration {hcm.RdsName} not received", "NR").ConfigureAwait(false);
                return;
            }

            var host = RouteMatcher.SelectVirtualHost(table, view.Authority);
            var route = host is null ? null : RouteMatcher.SelectRoute(host, view);
            if (route is null)
            {
                await LocalReplyAsync(exchange, StatusCodes.Status404NotFound, "no route matched the request", "NR").ConfigureAwait(false);
                return;
            }

            var weighted = route.Action.WeightedClusters is { } set ? WeightedPicker.Pick(set) : null;
            var clusterName = weighted?.Name ?? route.Action.Cluster;
            exchange.Cluster = clusterName;
            if (clusterName is null || !state.Clusters.ContainsKey(clusterName))
            {
                await LocalReplyAsync(exchange, StatusCodes.Status503ServiceUnavailable, "cluster not found", "NC").ConfigureAwait(false);
                return;
            }

            if (span.Activity is not null && listener.Direction == TrafficDirection.Outbound
                && state.Clusters.TryGetValue(clusterName, out var upstream) && upstream.Tls is { ExpectedUriSans: [var identity, ..] })
            {
                span.SetPeerService(RequestTracing.ServiceOf(identity));
            }

            var target = new ForwardTarget(state, listener, hcm, route, weighted, clusterName, view, span);
            await ForwardAsync(exchange, target).ConfigureAwait(false);
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The downstream went away; there is nobody to answer.
            exchange.AddFlag("DC");
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            // The route's deadline fired outside an upstream attempt: during a retry's back-off or a body read.
            exchange.AddFlag("UT");
            if (!context.Response.HasStarted)
            {
                await LocalReplyAsync(exchange, StatusCodes.Status504GatewayTimeout, "upstream request timeout", "UT").ConfigureAwait(false);
            }
            else
            {
                context.Abort();
            }
        }
        catch (BadHttpRequestException ex)
        {
            // A malformed or short request body is the client's error: a 400, not an error in the proxy's log.
            if (!context.Response.HasStarted)
            {
                await LocalReplyAsync(exchange, StatusCodes.Status400BadRequest, $"bad request: {ex.Message}", "DPE").ConfigureAwait(false);
            }
            else
            {
                context.Abort();
            }
        }
        catch (Exception ex)
        {
            Log.RequestFailed(_logger, listenerName, ex);
            if (!context.Response.HasStarted)
            {
                await LocalReplyAsync(exchange, StatusCodes.Status500InternalServerError, "internal proxy error", "DPE").ConfigureAwait(false);
            }
            else
            {
                context.Abort();
            }
        }
        finally
        {
            Finish(exchange, listenerName, statPrefix, span);
        }
    }

    /// <summary>Moves a deadline that a body callback may touch after the request ended (and disposed it).</summary>
    private static void ExtendDeadline(CancellationTokenSource deadline, TimeSpan after)
    {
        try
        {
            deadline.CancelAfter(after);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Disposes the per-cluster invokers and their connections.</summary>
    public void Dispose() => _pool.Dispose();

    private async Task ForwardAsync(Exchange exchange, ForwardTarget target)
    {
        var context = exchange.Context;
        var action = target.Route.Action;
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        // An "Upgrade: h2c" offer is between the client and this proxy only (Envoy strips it too); other upgrades
        // (WebSocket) are carried through to the upstream.
        var upgrading = upgrade is { IsUpgradableRequest: true }
            && context.Request.Headers.Upgrade is { Count: > 0 } offered
            && !string.Equals(offered[0], "h2c", StringComparison.OrdinalIgnoreCase);
        var streaming = upgrading || IsGrpc(context.Request);
        var timeout = action.Timeout ?? DefaultRouteTimeout;

        using var deadline = timeout > TimeSpan.Zero || action.IdleTimeout is not null
            ? CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted)
            : null;
        // A stream (gRPC, upgrade) has the route timeout for its response headers from the start; an ordinary request
        // from the end of its body, as Envoy does, so a long upload is not cut off while it is still sending.
        if (timeout > TimeSpan.Zero && streaming) deadline!.CancelAfter(timeout);
        var token = deadline?.Token ?? context.RequestAborted;

        var body = await PrepareBodyAsync(context, action.Retry is not null, token).ConfigureAwait(false);
        exchange.Body = body;
        if (timeout > TimeSpan.Zero && !streaming)
        {
            if (body.Streaming is { } upload) upload.OnCompleted = () => ExtendDeadline(deadline!, timeout);
            else deadline!.CancelAfter(timeout);
        }

        var hash = action.HashPolicies.IsEmpty ? null : RequestHash.Compute(action.HashPolicies, target.View, context.Connection.RemoteIpAddress?.ToString());
        var maxAttempts = 1 + Math.Max(action.Retry?.NumRetries ?? 0, 0);
        IPEndPoint? exclude = null;

        for (var attempt = 1; ; attempt++)
        {
            var lease = _clusters.Pick(target.State, target.ClusterName, new LbContext(hash, exclude));
            if (lease is null)
            {
                _metrics.NoHealthyUpstream.With(target.ClusterName).Inc();
                if (!target.State.Clusters.ContainsKey(target.ClusterName))
                {
                    await LocalReplyAsync(exchange, StatusCodes.Status503ServiceUnavailable, "cluster not found", "NC").ConfigureAwait(false);
                }
                else
                {
                    await LocalReplyAsync(exchange, StatusCodes.Status503ServiceUnavailable, "no healthy upstream", "UH").ConfigureAwait(false);
                }

                return;
            }

            var endpoint = lease.Endpoint.Address;
            exchange.UpstreamHost = endpoint.ToString();
            if (upgrading && lease.Cluster.Protocol == UpstreamProtocol.Http2)
            {
                lease.Dispose();
                await LocalReplyAsync(exchange, StatusCodes.Status503ServiceUnavailable,
                    $"cluster {lease.Cluster.Name} speaks HTTP/2 and cannot carry an HTTP/1.1 upgrade", "UPE").ConfigureAwait(false);
                return;
            }

            var forwarder = _pool.Acquire(lease.Cluster);
            AttemptOutcome outcome;
            try
            {
                outcome = await SendAsync(exchange, target, lease, forwarder, body, upgrading, token, deadline).ConfigureAwait(false);
            }
            catch
            {
                // Whatever escaped the attempt, the endpoint's active count and the forwarder's reference go back.
                lease.Dispose();
                forwarder.Release();
                throw;
            }

            if (outcome.Response is { } response)
            {
                var status = (int)response.StatusCode;
                if (attempt < maxAttempts && body.Replayable && ShouldRetry(action.Retry!, status))
                {
                    response.Dispose();
                    lease.Report(false);
                    lease.Dispose();
                    forwarder.Release();
                    await RetryAsync(exchange, target, attempt, endpoint, $"status {status}", token).ConfigureAwait(false);
                    exclude = endpoint;
                    continue;
                }

                try
                {
                    lease.Report(status < 500);
                    await RespondAsync(exchange, target, response, upgrade, upgrading, streaming, deadline, token).ConfigureAwait(false);
                }
                finally
                {
                    response.Dispose();
                    lease.Dispose();
                    forwarder.Release();
                }

                return;
            }

            lease.Report(false);
            lease.Dispose();
            forwarder.Release();
            var failure = outcome.Failure;
            if (failure == Failure.DownstreamGone)
            {
                exchange.AddFlag("DC");
                context.Abort();
                return;
            }

            if (failure == Failure.RouteTimeout)
            {
                await LocalReplyAsync(exchange, StatusCodes.Status504GatewayTimeout, "upstream request timeout", "UT").ConfigureAwait(false);
                return;
            }

            var retriable = action.Retry is { } retry && failure switch
            {
                Failure.ConnectFailure => retry.OnConnectFailure || retry.OnReset || retry.On5xx || retry.OnGatewayError,
                Failure.Reset or Failure.PerTryTimeout => retry.OnReset || retry.On5xx || retry.OnGatewayError,
                _ => false,
            };
            if (retriable && attempt < maxAttempts && (body.Replayable || body.Streaming is { Started: false }))
            {
                await RetryAsync(exchange, target, attempt, endpoint, outcome.Detail ?? failure.ToString(), token).ConfigureAwait(false);
                exclude = endpoint;
                continue;
            }

            if (attempt > 1) exchange.AddFlag("URX");
            switch (failure)
            {
                case Failure.PerTryTimeout:
                    await LocalReplyAsync(exchange, StatusCodes.Status504GatewayTimeout, "upstream request timeout", "UT").ConfigureAwait(false);
                    break;
                case Failure.ConnectFailure:
                    await LocalReplyAsync(exchange, StatusCodes.Status503ServiceUnavailable,
                        "upstream connect error or disconnect/reset before headers. reset reason: connection failure", "UF").ConfigureAwait(false);
                    break;
                default:
                    await LocalReplyAsync(exchange, StatusCodes.Status503ServiceUnavailable,
                        "upstream connect error or disconnect/reset before headers. reset reason: connection termination", "UC").ConfigureAwait(false);
                    break;
            }

            return;
        }
    }

    /// <summary>One attempt: builds the upstream request and waits for the response headers.</summary>
    private async Task<AttemptOutcome> SendAsync(Exchange exchange, ForwardTarget target, IEndpointLease lease, ForwarderPool.Forwarder forwarder,
        RequestBody body, bool upgrading, CancellationToken token, CancellationTokenSource? deadline)
    {
        var context = exchange.Context;
        var retry = target.Route.Action.Retry;
        using var perTry = retry?.PerTryTimeout is { } perTryTimeout && perTryTimeout > TimeSpan.Zero
            ? CancellationTokenSource.CreateLinkedTokenSource(token)
            : null;
        perTry?.CancelAfter(retry!.PerTryTimeout!.Value);
        var message = BuildRequest(exchange, target, lease, body, upgrading);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await forwarder.Invoker.SendAsync(message, perTry?.Token ?? token).ConfigureAwait(false);
            _hot.Latency(lease.Cluster.Name, Stopwatch.GetElapsedTime(started).TotalSeconds);
            return new AttemptOutcome(response, Failure.None, null);
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException or IOException or UpstreamConnectException)
        {
            if (context.RequestAborted.IsCancellationRequested) return new AttemptOutcome(null, Failure.DownstreamGone, null);
            if (deadline is not null && deadline.IsCancellationRequested) return new AttemptOutcome(null, Failure.RouteTimeout, null);
            if (perTry is not null && perTry.IsCancellationRequested) return new AttemptOutcome(null, Failure.PerTryTimeout, "per-try timeout");
            var connect = IsConnectFailure(ex);
            Log.UpstreamFailed(_logger, target.ClusterName, lease.Endpoint.Address.ToString(), connect ? "connect failure" : "reset", Innermost(ex));
            return new AttemptOutcome(null, connect ? Failure.ConnectFailure : Failure.Reset, Innermost(ex));
        }
    }

    private HttpRequestMessage BuildRequest(Exchange exchange, ForwardTarget target, IEndpointLease lease, RequestBody body, bool upgrading)
    {
        var context = exchange.Context;
        var request = context.Request;
        var action = target.Route.Action;
        var http2 = lease.Cluster.Protocol == UpstreamProtocol.Http2 && !upgrading;
        var message = new HttpRequestMessage(HttpMethod.Parse(request.Method), UpstreamUri(context, lease.Endpoint.Address, target.Route))
        {
            Version = http2 ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = body.CreateContent(),
        };

        message.Options.Set(ForwarderPool.LeaseKey, lease);
        RequestHeaders.CopyRequestHeaders(request, message, upgrading);
        if (!message.Headers.Contains("x-forwarded-proto"))
        {
            message.Headers.TryAddWithoutValidation("x-forwarded-proto", target.Listener.Tls is not null ? "https" : request.Scheme);
        }

        message.Headers.Remove("x-request-id");
        message.Headers.TryAddWithoutValidation("x-request-id", exchange.RequestId);
        if (target.Hcm.ForwardClientCert && context.Connection.ClientCertificate is { } peer)
        {
            var ours = target.Listener.Tls is { } tls && target.State.Certificates.TryGetValue(tls.CertificateSecret, out var secret) ? secret.Certificate : null;
            var element = CertificateDetails.ForwardedClientCert(ours, peer);
            var existing = request.Headers["x-forwarded-client-cert"];
            message.Headers.TryAddWithoutValidation("x-forwarded-client-cert", existing.Count > 0 ? string.Join(',', existing.ToArray()) + "," + element : element);
        }

        RequestHeaders.Apply(target.Route.RequestHeaders, message);
        if (target.Weighted is { } weighted) RequestHeaders.Apply(weighted.RequestHeaders, message);
        target.Span.Inject(message);
        return message;
    }

    /// <summary><c>http://&lt;endpoint&gt;&lt;path&gt;</c>: the authority is the endpoint, so the handler pools per endpoint.</summary>
    private static Uri UpstreamUri(HttpContext context, IPEndPoint endpoint, RouteConfig route)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/') raw = context.Request.Path.ToUriComponent() + context.Request.QueryString.ToUriComponent();
        var queryAt = raw.IndexOf('?');
        var path = queryAt < 0 ? raw : raw[..queryAt];
        var query = queryAt < 0 ? string.Empty : raw[queryAt..];
        if (route.Action.PrefixRewrite is { } rewrite) path = Rewrite(route.Match, path, rewrite);
        return new Uri(string.Concat("http://", endpoint.ToString(), path, query));
    }

    /// <summary>Envoy's <c>prefix_rewrite</c>: the matched prefix is replaced; for other match kinds the whole path.</summary>
    internal static string Rewrite(RouteMatchConfig match, string path, string rewrite)
    {
        if (match.PathKind is PathMatchKind.Prefix or PathMatchKind.PathSeparatedPrefix)
        {
            var comparison = match.CaseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
            if (path.StartsWith(match.Path, comparison)) return rewrite + path[match.Path.Length..];
            // The raw path differs from the decoded one that matched (escapes inside the prefix): rewrite the decoded form.
            var decoded = Uri.UnescapeDataString(path);
            if (decoded.StartsWith(match.Path, comparison)) return rewrite + decoded[match.Path.Length..];
        }

        return rewrite;
    }

    private async Task RespondAsync(Exchange exchange, ForwardTarget target, HttpResponseMessage response, IHttpUpgradeFeature? upgrade,
        bool upgrading, bool streaming, CancellationTokenSource? deadline, CancellationToken token)
    {
        var context = exchange.Context;
        var idle = target.Route.Action.IdleTimeout is { } idleTimeout && idleTimeout > TimeSpan.Zero ? idleTimeout : (TimeSpan?)null;
        // Streams (gRPC, upgrades) are timed by inactivity from here on, not by their total length; the client's
        // messages count as activity as much as the server's.
        if (streaming) deadline?.CancelAfter(idle ?? Timeout.InfiniteTimeSpan);
        if (streaming && idle is { } clientIdle && deadline is not null && exchange.Body?.Streaming is { } requestStream)
        {
            requestStream.OnProgress = () => ExtendDeadline(deadline, clientIdle);
        }

        var switching = upgrading && response.StatusCode == HttpStatusCode.SwitchingProtocols;
        RequestHeaders.CopyResponseHeaders(response, context.Response, switching);
        RequestHeaders.Apply(target.Route.ResponseHeaders, context.Response);
        if (target.Weighted is { } weighted) RequestHeaders.Apply(weighted.ResponseHeaders, context.Response);

        if (switching)
        {
            var upstream = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
            // The tunnel has its own idle timer; the route deadline no longer applies once the protocol switched.
            deadline?.CancelAfter(Timeout.InfiniteTimeSpan);
            var totals = await UpgradeForwarder.RunAsync(upgrade!, upstream, idle, context.RequestAborted).ConfigureAwait(false);
            exchange.BytesReceived += totals.FromDownstream;
            exchange.BytesSent += totals.FromUpstream;
            return;
        }

        var source = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
        // A gRPC "trailers-only" answer (an error before any message) carries grpc-status in its one HEADERS frame,
        // which must end the stream: starting the response early would split it into headers and empty trailers,
        // and the client would see no status at all.
        var trailersOnly = response.Headers.Contains("grpc-status");
        if ((response.Content.Headers.ContentLength is null || streaming) && !trailersOnly)
        {
            // No length: a stream (gRPC, server-sent events) whose headers the client may be waiting for.
            await context.Response.StartAsync(token).ConfigureAwait(false);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            var output = context.Response.Body;
            while (true)
            {
                int read;
                try
                {
                    if (streaming && idle is { } limit) deadline!.CancelAfter(limit);
                    read = await source.ReadAsync(buffer.AsMemory(), token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
                {
                    if (context.RequestAborted.IsCancellationRequested) throw;
                    // The upstream timed out or reset mid-body: the status is already sent, so reset the downstream stream.
                    exchange.AddFlag(deadline is not null && deadline.IsCancellationRequested ? "UT" : "UR");
                    Log.UpstreamFailed(_logger, target.ClusterName, exchange.UpstreamHost ?? "-", "response body interrupted", Innermost(ex));
                    context.Abort();
                    return;
                }

                if (read == 0) break;
                await output.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted).ConfigureAwait(false);
                exchange.BytesSent += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        RequestHeaders.CopyTrailers(response, context.Response);
    }

    private async Task RetryAsync(Exchange exchange, ForwardTarget target, int attempt, IPEndPoint endpoint, string reason, CancellationToken token)
    {
        _metrics.UpstreamRetries.With(target.ClusterName).Inc();
        Log.Retrying(_logger, target.ClusterName, endpoint.ToString(), attempt, reason);
        // Envoy's default back-off: 25 ms base, doubling, fully jittered, capped at ten times the base.
        var ceiling = Math.Min(25 << Math.Min(attempt - 1, 4), 250);
        await Task.Delay(Random.Shared.Next(ceiling + 1), token).ConfigureAwait(false);
        exchange.UpstreamHost = null;
    }

    private static bool ShouldRetry(RetryPolicyConfig retry, int status)
    {
        if (retry.On5xx && status >= 500) return true;
        if (retry.OnGatewayError && status is 502 or 503 or 504) return true;
        return retry.OnRetriableStatusCodes && retry.RetriableStatusCodes.Contains(status);
    }

    /// <summary>
    /// Decides how the request body travels: none; buffered (known length up to 64 KiB and a retry policy, so another
    /// attempt can resend it); or streamed as it arrives (not replayable once the upstream started reading it).
    /// </summary>
    private static async Task<RequestBody> PrepareBodyAsync(HttpContext context, bool mayRetry, CancellationToken token)
    {
        var request = context.Request;
        var canHaveBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? (request.ContentLength is > 0);
        if (!canHaveBody || request.ContentLength == 0) return RequestBody.Empty;
        if (mayRetry && request.ContentLength is { } length && length <= MaxRetryBufferBytes)
        {
            var buffer = new byte[length];
            var read = 0;
            while (read < length)
            {
                var n = await request.Body.ReadAsync(buffer.AsMemory(read), token).ConfigureAwait(false);
                if (n == 0) throw new IOException("the request body ended before its Content-Length");
                read += n;
            }

            return new RequestBody(buffer, null);
        }

        return new RequestBody(null, new StreamingContent(request.Body, request.ContentLength));
    }

    private async Task LocalReplyAsync(Exchange exchange, int status, string body, string flag)
    {
        exchange.AddFlag(flag);
        var response = exchange.Context.Response;
        if (response.HasStarted)
        {
            exchange.Context.Abort();
            return;
        }

        response.Clear();
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        var bytes = System.Text.Encoding.UTF8.GetBytes(body);
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, exchange.Context.RequestAborted).ConfigureAwait(false);
        exchange.BytesSent += bytes.Length;
    }

    private void Finish(Exchange exchange, string listenerName, string statPrefix, RequestSpan span)
    {
        var context = exchange.Context;
        var aborted = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted;
        var code = aborted ? 0 : context.Response.StatusCode;
        _hot.Request(statPrefix, exchange.Cluster ?? string.Empty, code);
        if (exchange.Body is { } streamed) exchange.BytesReceived += streamed.BytesCopied;
        span.Complete(code, exchange.Cluster, exchange.UpstreamHost, exchange.Flags);
        if (!_accessLog.IsEnabled(LogLevel.Information)) return;
        var request = context.Request;
        AccessLog.Write(_accessLog, listenerName, new AccessLogEntry(
            request.Method,
            string.Concat(request.Path.Value, request.QueryString.Value),
            request.Protocol,
            code,
            exchange.Flags ?? "-",
            exchange.BytesReceived,
            exchange.BytesSent,
            Stopwatch.GetElapsedTime(exchange.Started).TotalMilliseconds,
            exchange.UpstreamHost ?? "-",
            exchange.Cluster ?? "-",
            exchange.RequestId ?? "-",
            span.TraceIdText ?? "-"));
    }

    private static string EnsureRequestId(HttpRequest request)
    {
        var existing = request.Headers["x-request-id"];
        return existing.Count > 0 && !string.IsNullOrEmpty(existing[0]) ? existing[0]! : Guid.NewGuid().ToString();
    }

    private static string DenialText(RbacDecision decision) =>
        decision.Policy is { } policy
            ? $"RBAC: access denied (intention policy \"{policy}\" denies this request)"
            : "RBAC: access denied (no intention allows this request)";

    private static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    private static bool IsConnectFailure(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is UpstreamConnectException) return true;
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError }) return true;
        }

        return false;
    }

    private static string Innermost(Exception ex)
    {
        var e = ex;
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }

    private enum Failure { None, ConnectFailure, Reset, PerTryTimeout, RouteTimeout, DownstreamGone }

    private readonly record struct AttemptOutcome(HttpResponseMessage? Response, Failure Failure, string? Detail);

    /// <summary>Everything the forwarding of one request needs, resolved from one state.</summary>
    private sealed record ForwardTarget(
        SidecarState State,
        ListenerConfig Listener,
        HttpConnectionManagerConfig Hcm,
        RouteConfig Route,
        WeightedClusterConfig? Weighted,
        string ClusterName,
        RequestView View,
        RequestSpan Span);

    /// <summary>The request body for the attempts.</summary>
    private sealed class RequestBody(byte[]? buffered, StreamingContent? streaming)
    {
        public static readonly RequestBody Empty = new(null, null);

        public StreamingContent? Streaming { get; } = streaming;

        /// <summary>Whether every attempt can send the body (none, or buffered).</summary>
        public bool Replayable => Streaming is null;

        public HttpContent? CreateContent()
        {
            // A fresh content per attempt: the buffered bytes are resent as they are.
            return buffered is not null ? new ByteArrayContent(buffered) : Streaming;
        }

        public long BytesCopied => buffered?.Length ?? Streaming?.BytesCopied ?? 0;
    }

    /// <summary>Per-request bookkeeping for metrics, the span and the access log.</summary>
    private sealed class Exchange(HttpContext context, long started)
    {
        public HttpContext Context { get; } = context;
        public long Started { get; } = started;
        public string? Cluster { get; set; }
        public string? UpstreamHost { get; set; }
        public string? RequestId { get; set; }
        public string? Flags { get; private set; }
        public long BytesReceived { get; set; }
        public long BytesSent { get; set; }
        public RequestBody? Body { get; set; }

        public void AddFlag(string flag) => Flags = Flags is null ? flag : string.Concat(Flags, ",", flag);
    }
}
