using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Mesh.Agent.Config;
using Mesh.Agent.Dns.Wire;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Dns;

/// <summary>
/// Forwards questions outside the agent's domains to the configured recursors, as Consul does: each recursor in turn
/// (or in random order), each with <c>recursor_timeout</c>; an answer other than NOERROR or NXDOMAIN, a timeout or an
/// error moves on to the next; when none answers the caller replies SERVFAIL. TCP questions go upstream over TCP. UDP
/// questions go over UDP and fall back to TCP with the same recursor when UDP is refused (a TCP-only upstream) or the
/// answer comes back truncated; a full answer that still does not fit the asker's UDP size is replaced by the
/// truncated one, so the asker retries over TCP itself.
/// </summary>
internal sealed partial class DnsForwarder(ILogger logger)
{
    /// <summary>Parses a recursor address: an IP, <c>ip:port</c>, <c>[v6]:port</c> or a host name, port 53 by default.</summary>
    /// <exception cref="ConfigException">The address cannot be used.</exception>
    public static (string Host, int Port) ParseRecursor(string text)
    {
        var t = text.Trim();
        // A bare address (IPv6 included, bracketed or not) gets port 53; ip:port and [v6]:port name their own.
        if (IPAddress.TryParse(t, out var bare) && !t.Contains("]:", StringComparison.Ordinal)) return (bare.ToString(), 53);
        if (IPEndPoint.TryParse(t, out var ep))
            return ep.Port is > 0 and <= 65535 ? (ep.Address.ToString(), ep.Port) : throw new ConfigException($"invalid recursor address \"{text}\": bad port");
        var colon = t.LastIndexOf(':');
        var host = colon > 0 ? t[..colon] : t;
        var port = 53;
        if (colon > 0 && (!int.TryParse(t[(colon + 1)..], out port) || port is < 1 or > 65535))
            throw new ConfigException($"invalid recursor address \"{text}\": bad port");
        if (host.Length == 0 || Uri.CheckHostName(host) != UriHostNameType.Dns)
            throw new ConfigException($"invalid recursor address \"{text}\": not an IP address or host name");
        return (host, port);
    }

    /// <summary>
    /// The upstream's answer to <paramref name="query"/>, or null when no recursor gave a usable one.
    /// <paramref name="udpSize"/> is the asker's UDP payload size (ignored for a TCP asker).
    /// </summary>
    public async Task<byte[]?> ForwardAsync(ReadOnlyMemory<byte> query, bool tcp, int udpSize, DnsConfig cfg, CancellationToken ct)
    {
        var recursors = cfg.Recursors.ToArray();
        if (cfg.RecursorStrategy == "random") Random.Shared.Shuffle(recursors);
        var id = BinaryPrimitives.ReadUInt16BigEndian(query.Span);
        foreach (var recursor in recursors)
        {
            try
            {
                var (host, port) = ParseRecursor(recursor);
                var addresses = IPAddress.TryParse(host, out var ip) ? [ip] : await System.Net.Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
                if (addresses.Length == 0) continue;
                var endpoint = new IPEndPoint(addresses[0], port);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(cfg.RecursorTimeout);
                var answer = tcp
                    ? await ExchangeTcpAsync(endpoint, query, timeout.Token).ConfigureAwait(false)
                    : await ExchangeUdpThenTcpAsync(endpoint, query, id, udpSize, timeout.Token).ConfigureAwait(false);
                var rcode = answer[3] & 0xF;
                if (rcode is DnsRcode.NoError or DnsRcode.NxDomain) return answer;
                LogRecursorRcode(recursor, rcode);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                LogRecursorFailed(recursor, "timed out");
            }
            catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException or ConfigException)
            {
                LogRecursorFailed(recursor, ex.Message);
            }
        }
        return null;
    }

    private static async Task<byte[]> ExchangeUdpThenTcpAsync(IPEndPoint endpoint, ReadOnlyMemory<byte> query, ushort id, int udpSize,
        CancellationToken ct)
    {
        byte[] answer;
        try
        {
            answer = await ExchangeUdpAsync(endpoint, query, id, ct).ConfigureAwait(false);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // Nothing listens on UDP there (the ICMP "port unreachable" surfaces as a refused connection): try TCP.
            var full = await ExchangeTcpAsync(endpoint, query, ct).ConfigureAwait(false);
            return full.Length <= udpSize ? full : Truncate(full);
        }
        if ((answer[2] & 0x02) == 0) return answer;
        try
        {
            var full = await ExchangeTcpAsync(endpoint, query, ct).ConfigureAwait(false);
            return full.Length <= udpSize ? full : answer;
        }
        catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException)
        {
            // The truncated answer is still a correct one: the asker can retry over TCP.
            return answer;
        }
    }

    /// <summary>The header and question of a TCP answer too big for the asker's UDP size, with TC set and no records.</summary>
    private static byte[] Truncate(byte[] full)
    {
        var pos = DnsLimits.Header;
        Span<char> text = stackalloc char[DnsLimits.MaxName + 1];
        Span<byte> wire = stackalloc byte[DnsLimits.MaxName + 1];
        var questions = BinaryPrimitives.ReadUInt16BigEndian(full.AsSpan(4));
        if (questions != 1 || DnsQuery.ReadName(full, ref pos, text, wire, out _, out _) < 0 || pos + 4 > full.Length)
            pos = DnsLimits.Header;
        else pos += 4;
        var cut = full.AsSpan(0, pos).ToArray();
        cut[2] |= 0x02;
        if (pos == DnsLimits.Header) cut[5] = 0;
        cut.AsSpan(6, 6).Clear();
        return cut;
    }

    private static async Task<byte[]> ExchangeUdpAsync(IPEndPoint endpoint, ReadOnlyMemory<byte> query, ushort id, CancellationToken ct)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(endpoint, ct).ConfigureAwait(false);
        await socket.SendAsync(query, SocketFlags.None, ct).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(DnsLimits.MaxMessage);
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false);
                // Only a response to this very question counts; anything else on the socket is ignored.
                if (n >= DnsLimits.Header && BinaryPrimitives.ReadUInt16BigEndian(buffer) == id && (buffer[2] & 0x80) != 0)
                    return buffer.AsSpan(0, n).ToArray();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<byte[]> ExchangeTcpAsync(IPEndPoint endpoint, ReadOnlyMemory<byte> query, CancellationToken ct)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint, ct).ConfigureAwait(false);
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed.AsMemory(2));
        await socket.SendAsync(framed, SocketFlags.None, ct).ConfigureAwait(false);
        var length = new byte[2];
        if (!await ReadExactlyAsync(socket, length, ct).ConfigureAwait(false)) throw new IOException("connection closed before an answer");
        var answer = new byte[BinaryPrimitives.ReadUInt16BigEndian(length)];
        if (answer.Length < DnsLimits.Header) throw new InvalidDataException("short answer");
        if (!await ReadExactlyAsync(socket, answer, ct).ConfigureAwait(false)) throw new IOException("connection closed before an answer");
        return answer;
    }

    /// <summary>Fills <paramref name="buffer"/> from the socket; false at a clean end of stream before the first byte.</summary>
    internal static async ValueTask<bool> ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer[read..], SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                if (read == 0) return false;
                throw new IOException("connection closed mid-message");
            }
            read += n;
        }
        return true;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "recursor {Recursor} answered rcode {Rcode}; trying the next")]
    private partial void LogRecursorRcode(string recursor, int rcode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "recursor {Recursor} failed: {Reason}")]
    private partial void LogRecursorFailed(string recursor, string reason);
}
