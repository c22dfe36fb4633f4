using System.Collections.Frozen;
using System.Globalization;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mesh.Xds.Grpc;

/// <summary>
/// Serves the methods of a <see cref="GrpcRouter"/> over ASP.NET Core: checks each request against the gRPC wire
/// rules, runs the method's handler and ends the call with a status. Plug it in with
/// <see cref="GrpcHostingExtensions.UseGrpc(Microsoft.AspNetCore.Builder.IApplicationBuilder, GrpcServer)"/> or
/// <see cref="GrpcHostingExtensions.MapGrpc"/>, or call <see cref="HandleAsync"/> from any request pipeline.
/// </summary>
public sealed partial class GrpcServer
{
    private const string InternalErrorMessage = "the server failed to handle the call";

    private readonly FrozenDictionary<string, GrpcMethod> _methods;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates a server for the methods registered on <paramref name="router"/> so far.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public GrpcServer(GrpcRouter router, GrpcServerOptions options, ILogger<GrpcServer> logger)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _methods = router.Freeze();
        _options = options;
        _logger = logger;
    }

    /// <summary>Calls, statuses and refused messages, for metrics.</summary>
    public GrpcServerCounters Counters { get; } = new();

    /// <summary>The options the server runs with.</summary>
    public GrpcServerOptions Options => _options;

    /// <summary>Whether <paramref name="path"/> is a registered method.</summary>
    public bool HasMethod(string path) => _methods.ContainsKey(path);

    /// <summary>The registered method paths.</summary>
    public IEnumerable<string> Paths => _methods.Keys;

    /// <summary>
    /// Handles one HTTP request as a gRPC call, start to end. Never throws for anything the client sent: every
    /// failure becomes a gRPC status (or, for a request that is not gRPC at all, the HTTP status gRPC servers use).
    /// </summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Counters.Started();
        var request = context.Request;
        var path = request.Path.Value ?? "";

        if (!HttpMethods.IsPost(request.Method))
        {
            LogRefused(path, $"HTTP method {request.Method}");
            context.Response.Headers.Allow = "POST";
            Refuse(context, StatusCodes.Status405MethodNotAllowed,
                new GrpcStatus(StatusCode.Unimplemented, $"gRPC requires POST, not {request.Method}"));
            return;
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            LogRefused(path, $"content-type {request.ContentType}");
            Refuse(context, StatusCodes.Status415UnsupportedMediaType,
                new GrpcStatus(StatusCode.Internal, $"content-type \"{request.ContentType}\" is not supported: gRPC requires application/grpc"));
            return;
        }

        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            LogRefused(path, request.Protocol);
            Refuse(context, StatusCodes.Status426UpgradeRequired,
                new GrpcStatus(StatusCode.Internal, $"gRPC requires HTTP/2, the request came over {request.Protocol}"));
            return;
        }

        if (!_methods.TryGetValue(path, out var method))
        {
            LogUnknownMethod(path, Peer(context));
            Refuse(context, StatusCodes.Status200OK, new GrpcStatus(StatusCode.Unimplemented, $"method {path} is not implemented"));
            return;
        }

        var encoding = request.Headers[GrpcProtocol.EncodingHeader].ToString();
        if (encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            LogRefused(path, $"grpc-encoding {encoding}");
            context.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = "identity";
            Refuse(context, StatusCodes.Status200OK,
                new GrpcStatus(StatusCode.Unimplemented, $"grpc-encoding \"{encoding}\" is not supported; this server accepts identity"));
            return;
        }

        TimeSpan? timeout = null;
        var timeoutHeader = request.Headers[GrpcProtocol.TimeoutHeader].ToString();
        if (timeoutHeader.Length > 0)
        {
            if (!GrpcProtocol.TryParseTimeout(timeoutHeader, out var parsed))
            {
                LogRefused(path, $"grpc-timeout {timeoutHeader}");
                Refuse(context, StatusCodes.Status200OK, new GrpcStatus(StatusCode.Internal, $"malformed grpc-timeout \"{timeoutHeader}\""));
                return;
            }

            if (parsed <= TimeSpan.Zero)
            {
                Refuse(context, StatusCodes.Status200OK, new GrpcStatus(StatusCode.DeadlineExceeded, "the deadline had passed when the call arrived"));
                return;
            }

            timeout = parsed;
        }

        await RunAsync(context, method, path, timeout).ConfigureAwait(false);
    }

    private async Task RunAsync(HttpContext context, GrpcMethod method, string path, TimeSpan? timeout)
    {
        // A stream outlives any whole-body size limit, and an idle ADS stream reads nothing for minutes: neither the
        // server-wide body size cap nor the minimum body data rate applies to gRPC.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        if (method.ClientStreaming && context.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            try
            {
                rate.MinDataRate = null;
            }
            catch (NotSupportedException)
            {
                // Servers without the feature's setter enforce no rate at all.
            }
        }

        var stopping = context.RequestServices?.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        var aborted = context.RequestAborted;
        using var callCancellation = CancellationTokenSource.CreateLinkedTokenSource(aborted, stopping);
        DateTime? deadline = null;
        if (timeout is { } t)
        {
            deadline = DateTime.UtcNow + t;
            // CancelAfter takes at most 2^32-2 ms (about 49 days); a longer deadline never fires in practice.
            if (t.TotalMilliseconds < uint.MaxValue - 1)
            {
                callCancellation.CancelAfter(t);
            }
        }

        var callContext = new GrpcCallContext(path, Peer(context), RequestMetadata(context.Request), deadline, callCancellation.Token);
        var call = new ServerCall(context, callContext, _options, Counters);

        GrpcStatus status;
        try
        {
            await method.InvokeAsync(call).ConfigureAwait(false);
            status = call.ReadFailure ?? GrpcStatus.Ok;
        }
        catch (GrpcException ex)
        {
            status = call.ReadFailure ?? ex.Status;
        }
        catch (Exception ex) when (callCancellation.IsCancellationRequested || call.ClientGone)
        {
            // Cancellation surfaces as whatever the handler was awaiting threw (OperationCanceledException, an I/O
            // error on the reset stream); the cause is what the transport or the token tells.
            status = call.ReadFailure ?? (call.ClientGone
                ? new GrpcStatus(StatusCode.Cancelled, "the client cancelled the call")
                : CancelledStatus(aborted, stopping));
            LogCallCancelled(path, status.Code, ex.GetType().Name);
        }
        catch (Exception ex)
        {
            LogHandlerFailed(ex, path, Peer(context));
            status = call.ReadFailure ?? new GrpcStatus(StatusCode.Internal, InternalErrorMessage);
        }

        // Past the deadline the call is over whatever the handler did; the client's own timer fires at the same time.
        var clientGone = call.ClientGone || aborted.IsCancellationRequested;
        if (status.Code == StatusCode.OK && callCancellation.IsCancellationRequested && !clientGone
            && !stopping.IsCancellationRequested)
        {
            status = new GrpcStatus(StatusCode.DeadlineExceeded, "the deadline passed");
        }

        try
        {
            await call.CompleteAsync(status, clientGone).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The stream went away while the status was being written; there is no one left to tell, and the
            // connection's other calls must not notice.
            LogCallCancelled(path, status.Code, ex.GetType().Name);
        }

        Counters.Finished(clientGone ? StatusCode.Cancelled : status.Code);
    }

    private static GrpcStatus CancelledStatus(CancellationToken aborted, CancellationToken stopping) =>
        aborted.IsCancellationRequested ? new GrpcStatus(StatusCode.Cancelled, "the client cancelled the call")
        : stopping.IsCancellationRequested ? new GrpcStatus(StatusCode.Unavailable, "the server is shutting down")
        : new GrpcStatus(StatusCode.DeadlineExceeded, "the deadline passed");

    private void Refuse(HttpContext context, int httpStatus, GrpcStatus status)
    {
        ServerCall.WriteTrailersOnly(context.Response, status, httpStatus);
        Counters.Finished(status.Code);
    }

    private static GrpcMetadata RequestMetadata(HttpRequest request)
    {
        var metadata = new GrpcMetadata();
        foreach (var header in request.Headers)
        {
            var key = header.Key.ToLowerInvariant();
            if (GrpcMetadata.IsReserved(key))
            {
                continue;
            }

            foreach (var value in header.Value)
            {
                if (value is not null)
                {
                    metadata.AddReceived(key, value);
                }
            }
        }

        return metadata;
    }

    private static string Peer(HttpContext context)
    {
        var connection = context.Connection;
        if (connection.RemoteIpAddress is not { } ip)
        {
            return "unknown";
        }

        var address = ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
        var port = connection.RemotePort.ToString(CultureInfo.InvariantCulture);
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{address}]:{port}"
            : $"{address}:{port}";
    }
}
