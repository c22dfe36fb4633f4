using System.Collections.Frozen;
using System.Buffers;
using System.Net;
using System.Text;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Http;
using Mesh.Sidecar.L4;
using Mesh.Sidecar.Observability;
using Mesh.Sidecar.Rbac;
using Mesh.Sidecar.Tls;
using Mesh.Sidecar.Upstreams;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Sidecar.Listeners;

/// <summary>
/// One Kestrel server per listener, created directly (no web host), each bound to its listener's address. Every
/// connection runs: count → TLS (when the listener terminates TLS) → network RBAC → the listener's current terminal
/// filter, read per connection so a listener can switch between TCP proxy and HTTP without rebinding. HTTP
/// connections continue into Kestrel's HTTP/1.1 and HTTP/2 pipeline, whose requests go to <see cref="IHttpProxy"/>.
/// </summary>
internal sealed partial class ListenerManager : IListenerManager
{
    /// <summary>How long a removed listener's connections may take to finish before they are closed.</summary>
    internal static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(30);

    // HTTP/2's connection preface (RFC 9113 §3.4): a plaintext connection that opens with it is h2c prior knowledge.
    private static readonly byte[] Http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly StateHolder _state;
    private readonly IHttpProxy _http;
    private readonly SidecarMetrics _metrics;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TcpProxyHandler _tcp;
    private readonly ServerTls _serverTls;
    private readonly WebApplication _services;
    private readonly SocketTransportFactory _transport;
    private readonly TimeSpan _drainTimeout;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, BoundListener> _listeners = new(StringComparer.Ordinal);
    private readonly List<Task> _draining = [];
    private FrozenDictionary<string, IPEndPoint> _bound = FrozenDictionary<string, IPEndPoint>.Empty;
    private bool _disposed;

    public ListenerManager(StateHolder state, IClusterManager clusters, IHttpProxy http, SidecarMetrics metrics, ILoggerFactory loggerFactory, TimeSpan? drainTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(clusters);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _state = state;
        _http = http;
        _metrics = metrics;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<ListenerManager>();
        _tcp = new TcpProxyHandler(clusters, metrics, loggerFactory);
        _serverTls = new ServerTls(state);
        _drainTimeout = drainTimeout ?? DefaultDrainTimeout;

        // Kestrel's TLS middleware takes its logger factory and its (internal) metrics from the server options'
        // application services, which only its host registration provides: build that registration once, never
        // started, and share its services among the listeners' servers.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "mesh-sidecar" });
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.UseKestrelCore();
        _services = builder.Build();
        _transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions
        {
            Backlog = 4096,
            // Run the proxy's code on the socket engine's thread instead of hopping to the thread pool for every read.
            // With the process's socket completions inline as well (SidecarProcess.PreferInlineCompletions), the pair
            // measured 21,600 against 17,900 req/s on two cores: the hops were the largest cost after the kernel's.
            // Everything on this path is asynchronous, so nothing blocks the engine's thread.
            UnsafePreferInlineScheduling = true,
        }), loggerFactory);
    }

    /// <summary>The address each listener is bound to, by listener name (the real port when the config said 0).</summary>
    public IReadOnlyDictionary<string, IPEndPoint> BoundAddresses => Volatile.Read(ref _bound);

    /// <inheritdoc />
    public async Task ApplyAsync(SidecarState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var errors = new List<string>();
            var stopping = new Dictionary<IPEndPoint, Task>();

            // Gone or bound differently: stop accepting at once, let connections finish in the background.
            foreach (var (name, listener) in _listeners.ToList())
            {
                if (state.Listeners.TryGetValue(name, out var next) && !NeedsRebind(listener, next)) continue;
                _listeners.Remove(name);
                var stop = StopAsync(listener, _drainTimeout);
                _draining.Add(stop);
                stopping[listener.Bound] = listener.Unbound;
                Log.ListenerRemoved(_logger, name, listener.Bound.ToString());
            }

            foreach (var (name, config) in state.Listeners)
            {
                if (_listeners.TryGetValue(name, out var existing))
                {
                    // Same socket: the new filters apply to the next connection.
                    existing.Config = config;
                    continue;
                }

                var rebinding = stopping.TryGetValue(config.Address, out var unbound);
                if (rebinding) await unbound!.ConfigureAwait(false);
                try
                {
                    _listeners[name] = await StartAsync(config, rebinding, cancellationToken).ConfigureAwait(false);
                    Log.ListenerAdded(_logger, name, _listeners[name].Bound.ToString());
                }
                catch (XdsConfigException ex)
                {
                    errors.Add(ex.Message);
                }
            }

            _draining.RemoveAll(t => t.IsCompleted);
            Volatile.Write(ref _bound, _listeners.ToFrozenDictionary(l => l.Key, l => l.Value.Bound, StringComparer.Ordinal));
            if (errors.Count > 0) throw new XdsConfigException(string.Join("; ", errors));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task DrainAsync(TimeSpan timeout)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var stops = _listeners.Values.Select(l => StopAsync(l, timeout)).ToList();
            _listeners.Clear();
            Volatile.Write(ref _bound, FrozenDictionary<string, IPEndPoint>.Empty);
            stops.AddRange(_draining);
            _draining.Clear();
            await Task.WhenAll(stops).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes every listener and connection at once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        await DrainAsync(TimeSpan.Zero).ConfigureAwait(false);
        _disposed = true;
        await _services.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    private static bool NeedsRebind(BoundListener listener, ListenerConfig next) =>
        !listener.Requested.Equals(next.Address) || (listener.Config.Tls is null) != (next.Tls is null);

    /// <summary>
    /// Binds <paramref name="config"/>; when the same address is being given up by the listener it replaces, tries a
    /// little longer, as the old socket closes a moment after its server starts stopping.
    /// </summary>
    private async Task<BoundListener> StartAsync(ListenerConfig config, bool rebinding, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(config, cancellationToken).ConfigureAwait(false);
            }
            catch (XdsConfigException) when (rebinding && attempt < 40)
            {
                await Task.Delay(25, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<BoundListener> StartOnceAsync(ListenerConfig config, CancellationToken cancellationToken)
    {
        var listener = new BoundListener(config);
        var options = new KestrelServerOptions { AddServerHeader = false, AllowAlternateSchemes = true, ApplicationServices = _services.Services };
        ConfigureLimits(options.Limits);
        ListenOptions? listen = null;
        options.Listen(config.Address, o =>
        {
            listen = o;
            o.Protocols = HttpProtocols.Http1AndHttp2;
            o.Use(next => context => AcceptAsync(listener, context, next));
            // Registered on every listener, plaintext too, so that Kestrel keeps HTTP/2 enabled next to HTTP/1.1
            // (without TLS it would drop HTTP/2); on a plaintext listener AcceptAsync steps past it, and an h2c
            // preface selects HTTP/2 instead of ALPN.
            o.UseHttps(new TlsHandshakeCallbackOptions
            {
                OnConnection = context => ValueTask.FromResult(TlsOptions(listener)),
                HandshakeTimeout = TimeSpan.FromSeconds(10),
            });
            o.Use(next =>
            {
                listener.AfterTls = context => DispatchAsync(listener, context, next);
                return listener.AfterTls;
            });
        });

        var server = new KestrelServer(Options.Create(options), _transport, _loggerFactory);
        try
        {
            await server.StartAsync(new ProxyApplication(_http, config.Name), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            server.Dispose();
            var reason = ex.InnerException is AddressInUseException ? "address in use" : ex.Message;
            throw new XdsConfigException($"listener {config.Name}: cannot bind {config.Address}: {reason}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Net.Sockets.SocketException)
        {
            server.Dispose();
            throw new XdsConfigException($"listener {config.Name}: cannot bind {config.Address}: {ex.Message}");
        }

        listener.Server = server;
        listener.Bound = listen!.IPEndPoint ?? config.Address;
        return listener;
    }

    /// <summary>Kestrel's limits are a web server's; a proxy passes through what its clients and upstreams agree.</summary>
    private static void ConfigureLimits(KestrelServerLimits limits)
    {
        limits.MaxConcurrentConnections = null;
        limits.MaxConcurrentUpgradedConnections = null;
        limits.MaxRequestBodySize = null;
        // A request body may pause for as long as its sender likes (a gRPC client stream), so no rate applies to it.
        limits.MinRequestBodyDataRate = null;
        // A client that stops reading while a response waits for it would otherwise hold the request, its upstream
        // connection and its endpoint slot forever; after five minutes without progress it is cut off (Envoy's
        // default stream idle timeout is five minutes too). Only time with data pending counts.
        limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 1, gracePeriod: TimeSpan.FromMinutes(5));
        // Envoy's HTTP connection manager idle timeout is 1 h; its header limit 60 KiB.
        limits.KeepAliveTimeout = TimeSpan.FromHours(1);
        limits.MaxRequestHeadersTotalSize = 64 * 1024;
        limits.Http2.MaxStreamsPerConnection = 1024;
        limits.Http2.InitialConnectionWindowSize = 4 * 1024 * 1024;
        limits.Http2.InitialStreamWindowSize = 1024 * 1024;
        limits.Http2.KeepAlivePingDelay = TimeSpan.FromMinutes(1);
        limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
    }

    private System.Net.Security.SslServerAuthenticationOptions TlsOptions(BoundListener listener)
    {
        var tls = listener.Config.Tls ?? throw new System.Security.Authentication.AuthenticationException($"listener {listener.Config.Name} has no TLS");
        try
        {
            return _serverTls.CreateOptions(tls);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            // Kestrel treats an authentication error as a failed handshake; anything else would escape as a crash.
            throw new System.Security.Authentication.AuthenticationException($"listener {listener.Config.Name}: the certificate cannot be used: {ex.Message}", ex);
        }
    }

    /// <summary>Outermost: counts the connection, and TLS failures (a TLS connection that never reached dispatch).</summary>
    private async Task AcceptAsync(BoundListener listener, ConnectionContext context, ConnectionDelegate next)
    {
        var label = listener.Config.App.StatPrefix;
        var active = _metrics.ConnectionsActive.With(label);
        active.Inc();
        _metrics.ConnectionsTotal.With(label).Inc();
        var marker = new DispatchMarker();
        context.Features.Set(marker);
        try
        {
            if (listener.Tls)
            {
                await next(context).ConfigureAwait(false);
                if (!marker.Reached)
                {
                    _metrics.TlsFailures.With(label).Inc();
                    Log.TlsFailed(_logger, listener.Config.Name, context.RemoteEndPoint?.ToString() ?? "?");
                }
            }
            else
            {
                await listener.AfterTls!(context).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ConnectionResetException or ObjectDisposedException)
        {
            Log.ConnectionFailed(_logger, listener.Config.Name, ex.Message);
        }
        finally
        {
            active.Dec();
        }
    }

    /// <summary>After TLS: network RBAC, then the listener's current terminal filter.</summary>
    private async Task DispatchAsync(BoundListener listener, ConnectionContext context, ConnectionDelegate http)
    {
        if (context.Features.Get<DispatchMarker>() is { } marker) marker.Reached = true;
        var config = listener.Config;
        var label = config.App.StatPrefix;
        if (config.NetworkRbac is { } rbac)
        {
            var certificate = context.Features.Get<ITlsConnectionFeature>()?.ClientCertificate;
            var decision = RbacEvaluator.Evaluate(rbac, new NetworkSubject(certificate is null ? null : PeerIdentity.Principal(certificate)));
            if (!decision.Allowed)
            {
                // Envoy's network RBAC closes the connection without a byte of application data.
                _metrics.RbacDenied.With(label).Inc();
                Log.RbacDenied(_logger, config.Name, certificate is null ? "(no certificate)" : PeerIdentity.Principal(certificate), decision.Policy ?? "(no matching policy)");
                context.Abort(new ConnectionAbortedException("denied by RBAC"));
                return;
            }

            _metrics.RbacAllowed.With(label).Inc();
        }

        switch (config.App)
        {
            case TcpProxyConfig tcp:
                await _tcp.HandleAsync(context, tcp, listener.Aborted).ConfigureAwait(false);
                return;
            case HttpConnectionManagerConfig hcm:
                if (!listener.Tls && await IsHttp2Async(context, hcm.Codec).ConfigureAwait(false))
                {
                    // Kestrel picks HTTP/2 next to HTTP/1.1 only for a TLS connection that negotiated h2 by ALPN;
                    // say so for a connection that opened with the preface. The TLS feature carries no certificate,
                    // and :scheme (allowed to differ from the transport) keeps the request's scheme http.
                    context.Features.Set<ITlsConnectionFeature>(new PlaintextH2());
                    context.Features.Set<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ITlsApplicationProtocolFeature>(H2Selected.Instance);
                }

                await http(context).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>
    /// On a plaintext listener: HTTP/2 when the codec says so, HTTP/1.1 when it says that, and for auto whether the
    /// client opens with the HTTP/2 preface (prior knowledge). Peeks without consuming, so Kestrel reads it all.
    /// </summary>
    private static async Task<bool> IsHttp2Async(ConnectionContext context, HttpCodec codec)
    {
        if (codec != HttpCodec.Auto) return codec == HttpCodec.Http2;
        var input = context.Transport.Input;
        while (true)
        {
            var result = await input.ReadAsync(context.ConnectionClosed).ConfigureAwait(false);
            var buffer = result.Buffer;
            var length = (int)Math.Min(buffer.Length, Http2Preface.Length);
            var matches = StartsLikePreface(buffer.Slice(0, length));
            if (!matches || length == Http2Preface.Length || result.IsCompleted || result.IsCanceled)
            {
                // Nothing consumed or examined: the next reader sees the same bytes at once.
                input.AdvanceTo(buffer.Start);
                return matches && length == Http2Preface.Length;
            }

            // A prefix of the preface so far: wait for more bytes.
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool StartsLikePreface(ReadOnlySequence<byte> head)
    {
        Span<byte> copy = stackalloc byte[Http2Preface.Length];
        head.CopyTo(copy);
        return copy[..(int)head.Length].SequenceEqual(Http2Preface.AsSpan(0, (int)head.Length));
    }

    private async Task StopAsync(BoundListener listener, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        // When the drain time is up, Kestrel aborts its connections; TCP proxies waiting on a silent upstream need
        // telling too.
        using var abort = deadline.Token.Register(listener.AbortConnections);
        try
        {
            var stop = listener.Server!.StopAsync(deadline.Token);
            listener.MarkUnbound();
            await stop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.ConnectionFailed(_logger, listener.Config.Name, ex.Message);
        }
        finally
        {
            listener.Server!.Dispose();
        }
    }

    /// <summary>A listener's server and the configuration its connections read.</summary>
    private sealed class BoundListener(ListenerConfig config)
    {
        private readonly TaskCompletionSource _unbound = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ListenerConfig _config = config;

        /// <summary>The current configuration (swapped whole on an update that needs no rebinding).</summary>
        public ListenerConfig Config { get => Volatile.Read(ref _config); set => Volatile.Write(ref _config, value); }

        /// <summary>The address as configured (port 0 stays 0), to compare with updates.</summary>
        public IPEndPoint Requested { get; } = config.Address;

        /// <summary>Whether the socket was bound for TLS; fixed for the server's life.</summary>
        public bool Tls { get; } = config.Tls is not null;

        public KestrelServer? Server { get; set; }
        public IPEndPoint Bound { get; set; } = config.Address;
        public ConnectionDelegate? AfterTls { get; set; }

        /// <summary>Completes once the server no longer accepts (its socket is closed).</summary>
        public Task Unbound => _unbound.Task;

        public void MarkUnbound() => _unbound.TrySetResult();

        private readonly CancellationTokenSource _aborted = new();

        /// <summary>Cancelled when the listener's drain time is up: open connections end now.</summary>
        public CancellationToken Aborted => _aborted.Token;

        public void AbortConnections() => _aborted.Cancel();
    }

    /// <summary>Set by dispatch, so the outer middleware can tell a connection whose TLS handshake failed.</summary>
    private sealed class DispatchMarker
    {
        public bool Reached { get; set; }
    }

    /// <summary>Tells Kestrel's protocol selection that a plaintext connection speaks HTTP/2 (h2c prior knowledge).</summary>
    private sealed class H2Selected : Microsoft.AspNetCore.Server.Kestrel.Core.Features.ITlsApplicationProtocolFeature
    {
        public static readonly H2Selected Instance = new();

        public ReadOnlyMemory<byte> ApplicationProtocol { get; } = "h2"u8.ToArray();
    }

    /// <summary>Stands in for TLS on an h2c connection so that Kestrel selects HTTP/2; there is no peer certificate.</summary>
    private sealed class PlaintextH2 : ITlsConnectionFeature
    {
        public System.Security.Cryptography.X509Certificates.X509Certificate2? ClientCertificate { get => null; set { } }

        public Task<System.Security.Cryptography.X509Certificates.X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) =>
            Task.FromResult<System.Security.Cryptography.X509Certificates.X509Certificate2?>(null);
    }

    /// <summary>What network RBAC sees of a connection: only the peer's principal.</summary>
    private sealed class NetworkSubject(string? principal) : IRbacSubject
    {
        public string? Principal { get; } = principal;
        public bool IsHttp => false;
        public string Path => string.Empty;
        public string? GetHeader(string name) => null;
    }

    /// <summary>Kestrel's application: every request of the listener goes to the HTTP proxy.</summary>
    private sealed class ProxyApplication(IHttpProxy proxy, string listenerName) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context) => proxy.HandleAsync(context, listenerName);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }
    }
}
