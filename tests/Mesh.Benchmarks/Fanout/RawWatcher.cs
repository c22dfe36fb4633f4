using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mesh.Benchmarks.Fanout;

/// <summary>One response as the fanout scenario needs it: status, <c>X-Consul-Index</c> and when its last byte arrived.</summary>
internal readonly record struct WatchResponse(int Status, ulong Index, long CompletedTimestamp, bool KeepAlive);

/// <summary>
/// A minimal HTTP/1.1 client on one keep-alive TCP connection, one request at a time. Ten thousand
/// <see cref="HttpClient"/> connections would cost the client side hundreds of megabytes and a lot of CPU on the same
/// two cores the agent runs on; this costs a socket, a 2 kB buffer and one pending receive per watcher.
/// It understands exactly what an HTTP/1.1 server may send back to a GET: a head, then a body delimited by
/// Content-Length, by chunked transfer-encoding, or (without either) by the connection closing.
/// </summary>
internal sealed class RawWatcher : IDisposable
{
    private static ReadOnlySpan<byte> HeadTerminator => "\r\n\r\n"u8;
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    private readonly Socket _socket;
    private byte[] _buffer = new byte[2048];

    private RawWatcher(Socket socket) => _socket = socket;

    public static async Task<RawWatcher> ConnectAsync(EndPoint endPoint, CancellationToken cancellation)
    {
        // NoDelay: the request is one small segment that must leave at once, not wait for Nagle.
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellation);
            return new RawWatcher(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The request line and headers of a GET, encoded once per round and shared by every watcher.</summary>
    public static byte[] EncodeGet(string pathAndQuery, EndPoint host) =>
        Encoding.ASCII.GetBytes($"GET {pathAndQuery} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n");

    public async Task SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellation)
    {
        while (!request.IsEmpty)
        {
            var sent = await _socket.SendAsync(request, SocketFlags.None, cancellation);
            request = request[sent..];
        }
    }

    /// <summary>Reads exactly one response and stamps the moment it was complete.</summary>
    public async Task<WatchResponse> ReadResponseAsync(CancellationToken cancellation)
    {
        var filled = 0;
        Head? head = null;
        while (true)
        {
            if (filled == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
            var read = await _socket.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None, cancellation);
            if (read == 0)
            {
                // Without a length the body ends where the connection does; otherwise a close is a truncation.
                if (head is { BodyLength: null, Chunked: false })
                    return new WatchResponse(head.Value.Status, head.Value.Index, Stopwatch.GetTimestamp(), KeepAlive: false);
                throw new IOException("the agent closed the connection before the response was complete");
            }
            filled += read;

            if (head is null)
            {
                var end = _buffer.AsSpan(0, filled).IndexOf(HeadTerminator);
                if (end < 0) continue;
                head = Head.Parse(_buffer.AsSpan(0, end), end + HeadTerminator.Length);
            }

            var body = _buffer.AsSpan(head.Value.BodyStart, filled - head.Value.BodyStart);
            var complete = head.Value switch
            {
                { Chunked: true } => ChunkedBodyComplete(body),
                { BodyLength: { } length } => body.Length >= length,
                _ => false,
            };
            if (complete) return new WatchResponse(head.Value.Status, head.Value.Index, Stopwatch.GetTimestamp(), head.Value.KeepAlive);
        }
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>
    /// True once <paramref name="body"/> holds a whole chunked body: chunks of <c>hex-size[;ext] CRLF data CRLF</c>,
    /// then a zero-size chunk, optional trailer lines and a final CRLF. Re-scanned from the start on every receive,
    /// which is fine for the few hundred bytes a KV entry takes.
    /// </summary>
    internal static bool ChunkedBodyComplete(ReadOnlySpan<byte> body)
    {
        var position = 0;
        while (true)
        {
            var lineLength = body[position..].IndexOf(Crlf);
            if (lineLength < 0) return false;
            var sizeText = body.Slice(position, lineLength);
            var extension = sizeText.IndexOf((byte)';');
            if (extension >= 0) sizeText = sizeText[..extension];
            if (!Utf8Parser.TryParse(sizeText.Trim((byte)' '), out ulong size, out _, 'X'))
                throw new InvalidDataException("malformed chunk size in the agent's response");
            position += lineLength + Crlf.Length;

            if (size == 0)
            {
                // No trailers: a bare CRLF. With trailers: they end with an empty line.
                var rest = body[position..];
                return rest.StartsWith(Crlf) || rest.IndexOf(HeadTerminator) >= 0;
            }
            position += (int)size + Crlf.Length;
            if (position > body.Length) return false;
        }
    }

    /// <summary>The parts of a response head the benchmark uses.</summary>
    private readonly record struct Head(int Status, ulong Index, long? BodyLength, bool Chunked, bool KeepAlive, int BodyStart)
    {
        /// <summary>
        /// Parses the head in place, without strings: ten thousand responses arrive at once, and every microsecond
        /// spent here on the shared cores is added to the latency of the watchers queued behind it.
        /// </summary>
        public static Head Parse(ReadOnlySpan<byte> head, int bodyStart)
        {
            var lineEnd = head.IndexOf(Crlf);
            var statusLine = lineEnd < 0 ? head : head[..lineEnd];
            // "HTTP/1.x NNN reason"
            if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[8] != (byte)' '
                || !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out _))
                throw new InvalidDataException($"not an HTTP/1.x status line: {Encoding.ASCII.GetString(statusLine)}");

            ulong index = 0;
            long? length = null;
            var chunked = false;
            var keepAlive = statusLine[7] == (byte)'1';
            var rest = lineEnd < 0 ? [] : head[(lineEnd + Crlf.Length)..];
            while (!rest.IsEmpty)
            {
                lineEnd = rest.IndexOf(Crlf);
                var line = lineEnd < 0 ? rest : rest[..lineEnd];
                rest = lineEnd < 0 ? [] : rest[(lineEnd + Crlf.Length)..];

                var colon = line.IndexOf((byte)':');
                if (colon <= 0) continue;
                var name = line[..colon].Trim((byte)' ');
                var value = line[(colon + 1)..].Trim((byte)' ');
                if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
                    length = Utf8Parser.TryParse(value, out long n, out _) ? n : throw new InvalidDataException("malformed Content-Length");
                else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
                    chunked = ContainsIgnoreCase(value, "chunked"u8);
                else if (Ascii.EqualsIgnoreCase(name, "X-Consul-Index"u8))
                    Utf8Parser.TryParse(value, out index, out _);
                else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
                    keepAlive = !Ascii.EqualsIgnoreCase(value, "close"u8);
            }
            // Responses that never carry a body (RFC 9112 section 6.3).
            if (status is 204 or 304) length = 0;
            return new Head(status, index, length, chunked, keepAlive, bodyStart);
        }

        private static bool ContainsIgnoreCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> word)
        {
            for (var i = 0; i + word.Length <= text.Length; i++)
                if (Ascii.EqualsIgnoreCase(text.Slice(i, word.Length), word)) return true;
            return false;
        }
    }
}
