using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Mesh.Agent.Config;
using Mesh.Agent.Dns.Wire;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Dns;

/// <summary>
/// The agent's DNS server: UDP and TCP on the same port of each listen address. UDP is served by dedicated threads
/// blocked in <c>recvfrom</c> on a shared socket (one per core, up to four): a query costs one receive and one send, with
/// no task or buffer allocated. TCP connections (RFC 7766 framing, several queries per connection) are served
/// asynchronously. Questions outside the domains are forwarded without holding up either loop. A packet that cannot be
/// read is dropped and counted; nothing a client sends can stop a loop.
/// </summary>
internal sealed partial class DnsServer : IAsyncDisposable
{
    /// <summary>How long an open TCP connection may sit idle between queries.</summary>
    private static readonly TimeSpan TcpIdle = TimeSpan.FromSeconds(10);

    /// <summary>Most TCP connections served at once; more are closed on accept.</summary>
    private const int MaxTcpConnections = 1024;

    /// <summary>How long writing one answer to a TCP client may take: a client that stops reading loses its connection.</summary>
    private static readonly TimeSpan TcpWrite = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most UDP questions being forwarded at once. Each holds a socket for up to the recursor timeout, so without a cap a
    /// flood of outside names could use up the process's file descriptors; over it, the asker gets SERVFAIL at once.
    /// </summary>
    private const int MaxForwards = 1024;

    private int _forwards;

    private readonly DnsResponder _responder;
    private readonly DnsForwarder _forwarder;
    private readonly Func<DnsConfig> _config;
    private readonly DnsCounters _counters;
    private readonly ILogger _logger;
    private readonly List<Socket> _udp = [];
    private readonly List<Socket> _tcp = [];
    private readonly List<Thread> _threads = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly CancellationTokenSource _stopping = new();
    private int _tcpConnections;

    private DnsServer(DnsResponder responder, DnsForwarder forwarder, Func<DnsConfig> config, DnsCounters counters, ILogger logger)
    {
        _responder = responder;
        _forwarder = forwarder;
        _config = config;
        _counters = counters;
        _logger = logger;
    }

    /// <summary>Where the server listens (UDP and TCP share each port).</summary>
    public IReadOnlyList<IPEndPoint> Endpoints { get; private set; } = [];

    /// <summary>Binds UDP and TCP on <paramref name="port"/> (0: a free port, the same for both) of each address and starts serving.</summary>
    /// <exception cref="SocketException">A port is taken.</exception>
    public static DnsServer Start(IReadOnlyList<IPAddress> addresses, int port, DnsResponder responder, DnsForwarder forwarder,
        Func<DnsConfig> config, DnsCounters counters, ILogger logger)
    {
        var server = new DnsServer(responder, forwarder, config, counters, logger);
        try
        {
            var endpoints = new List<IPEndPoint>();
            foreach (var address in addresses)
            {
                var (udp, tcp) = Bind(address, port);
                server._udp.Add(udp);
                server._tcp.Add(tcp);
                endpoints.Add((IPEndPoint)udp.LocalEndPoint!);
            }
            server.Endpoints = endpoints;
            var loops = Math.Clamp(Environment.ProcessorCount, 1, 4);
            foreach (var udp in server._udp)
                for (var i = 0; i < loops; i++)
                {
                    var thread = new Thread(() => server.UdpLoop(udp)) { IsBackground = true, Name = $"dns-udp-{i}" };
                    server._threads.Add(thread);
                    thread.Start();
                }
            foreach (var tcp in server._tcp) server._acceptLoops.Add(server.AcceptLoopAsync(tcp));
            foreach (var ep in endpoints) server.LogListening(ep.ToString());
            return server;
        }
        catch
        {
            server.CloseSockets();
            throw;
        }
    }

    private static (Socket Udp, Socket Tcp) Bind(IPAddress address, int port)
    {
        // With port 0 the UDP socket picks a port and TCP must get the same one; another process may hold it on TCP,
        // so a few attempts are made before giving up.
        for (var attempt = 0; ; attempt++)
        {
            var udp = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            Socket? tcp = null;
            try
            {
                if (address.AddressFamily == AddressFamily.InterNetworkV6) udp.DualMode = address.Equals(IPAddress.IPv6Any);
                udp.ReceiveBufferSize = 4 * 1024 * 1024;
                udp.Bind(new IPEndPoint(address, port));
                var bound = ((IPEndPoint)udp.LocalEndPoint!).Port;
                tcp = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (address.AddressFamily == AddressFamily.InterNetworkV6) tcp.DualMode = address.Equals(IPAddress.IPv6Any);
                tcp.Bind(new IPEndPoint(address, bound));
                tcp.Listen(512);
                return (udp, tcp);
            }
            catch (SocketException) when (port == 0 && attempt < 20)
            {
                udp.Dispose();
                tcp?.Dispose();
            }
            catch
            {
                udp.Dispose();
                tcp?.Dispose();
                throw;
            }
        }
    }

    private void UdpLoop(Socket socket)
    {
        var session = new DnsSession();
        var buffer = new byte[DnsLimits.MaxMessage];
        var from = new SocketAddress(socket.AddressFamily);
        while (!_stopping.IsCancellationRequested)
        {
            int n;
            try
            {
                n = socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                // An ICMP error from an earlier send can surface here; the socket itself is fine.
                LogReceiveError(ex.SocketErrorCode.ToString());
                continue;
            }
            try
            {
                switch (_responder.Respond(buffer.AsSpan(0, n), session, tcp: false))
                {
                    case DnsOutcome.Reply:
                        socket.SendTo(session.Writer.Written, SocketFlags.None, from);
                        break;
                    case DnsOutcome.Recurse when Interlocked.Increment(ref _forwards) > MaxForwards:
                        Interlocked.Decrement(ref _forwards);
                        _counters.RecursorFailed();
                        DnsResponder.ServerFailure(session, _config());
                        socket.SendTo(session.Writer.Written, SocketFlags.None, from);
                        break;
                    case DnsOutcome.Recurse:
                        var to = new SocketAddress(from.Family, from.Size);
                        from.Buffer.Span[..from.Size].CopyTo(to.Buffer.Span);
                        _ = ForwardUdpAsync(socket, buffer.AsSpan(0, n).ToArray(), session.Query.UdpSize, to);
                        break;
                }
            }
            catch (SocketException ex)
            {
                LogSendError(ex.SocketErrorCode.ToString());
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception ex)
            {
                // A bug must cost one answer, never the loop.
                LogUnexpected(ex);
            }
        }
    }

    private async Task ForwardUdpAsync(Socket socket, byte[] packet, int udpSize, SocketAddress to)
    {
        try
        {
            _counters.Recursed();
            var cfg = _config();
            var answer = await _forwarder.ForwardAsync(packet, tcp: false, udpSize, cfg, _stopping.Token).ConfigureAwait(false);
            ReadOnlyMemory<byte> reply = answer ?? Failure(packet, cfg);
            await socket.SendToAsync(reply, SocketFlags.None, to, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Shutting down, or the client went away.
        }
        catch (Exception ex)
        {
            LogUnexpected(ex);
        }
        finally
        {
            Interlocked.Decrement(ref _forwards);
        }
    }

    private byte[] Failure(byte[] packet, DnsConfig cfg)
    {
        _counters.RecursorFailed();
        var session = new DnsSession();
        session.Query.Parse(packet);
        DnsResponder.ServerFailure(session, cfg);
        return session.Writer.Written.ToArray();
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogReceiveError(ex.SocketErrorCode.ToString());
                continue;
            }
            if (Interlocked.Increment(ref _tcpConnections) > MaxTcpConnections)
            {
                Interlocked.Decrement(ref _tcpConnections);
                client.Dispose();
                continue;
            }
            _ = ServeTcpAsync(client);
        }
    }

    private async Task ServeTcpAsync(Socket client)
    {
        var session = new DnsSession();
        var buffer = ArrayPool<byte>.Shared.Rent(DnsLimits.MaxMessage + 2);
        try
        {
            client.NoDelay = true;
            while (!_stopping.IsCancellationRequested)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                idle.CancelAfter(TcpIdle);
                if (!await DnsForwarder.ReadExactlyAsync(client, buffer.AsMemory(0, 2), idle.Token).ConfigureAwait(false)) return;
                var length = BinaryPrimitives.ReadUInt16BigEndian(buffer);
                if (length == 0) return;
                if (!await DnsForwarder.ReadExactlyAsync(client, buffer.AsMemory(2, length), idle.Token).ConfigureAwait(false)) return;
                ReadOnlyMemory<byte> reply;
                switch (_responder.Respond(buffer.AsSpan(2, length), session, tcp: true))
                {
                    case DnsOutcome.Reply:
                        reply = session.Writer.WrittenMemory;
                        break;
                    case DnsOutcome.Recurse:
                        _counters.Recursed();
                        var cfg = _config();
                        var packet = buffer.AsSpan(2, length).ToArray();
                        reply = await _forwarder.ForwardAsync(packet, tcp: true, DnsLimits.MaxMessage, cfg, _stopping.Token).ConfigureAwait(false) ?? Failure(packet, cfg);
                        break;
                    default:
                        // The stream cannot be trusted to stay in frame after garbage: close it.
                        return;
                }
                BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)reply.Length);
                reply.CopyTo(buffer.AsMemory(2));
                using var writing = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                writing.CancelAfter(TcpWrite);
                await client.SendAsync(buffer.AsMemory(0, reply.Length + 2), SocketFlags.None, writing.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
            // Idle timeout, shutdown, or the client went away.
        }
        catch (Exception ex)
        {
            LogUnexpected(ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            client.Dispose();
            Interlocked.Decrement(ref _tcpConnections);
        }
    }

    private void CloseSockets()
    {
        foreach (var s in _udp) s.Dispose();
        foreach (var s in _tcp) s.Dispose();
    }

    /// <summary>Stops the loops and closes the sockets.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        CloseSockets();
        foreach (var t in _threads) t.Join(TimeSpan.FromSeconds(5));
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "DNS server listening on {Endpoint} (udp and tcp)")]
    private partial void LogListening(string endpoint);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DNS receive error: {Error}")]
    private partial void LogReceiveError(string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "DNS send error: {Error}")]
    private partial void LogSendError(string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "DNS: unexpected error answering a query")]
    private partial void LogUnexpected(Exception ex);
}
