using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// One keep-alive HTTP/1.1 connection that sends a fixed <c>GET</c> and reads the whole answer (Content-Length or
/// chunked). Raw sockets rather than <see cref="HttpClient"/>: the generator shares two cores with the proxies it
/// measures, and this costs a fraction of the CPU per request and allocates nothing per request.
/// </summary>
internal sealed class RawHttpConnection : IDisposable
{
    private const int BufferSize = 16 * 1024;

    private readonly IPEndPoint _target;
    private readonly byte[] _request;
    private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    private Socket? _socket;

    public RawHttpConnection(IPEndPoint target, string path)
    {
        _target = target;
        _request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: mesh-bench\r\n\r\n");
    }

    /// <summary>Connects (again, after an error or a server-side close).</summary>
    public async Task ConnectAsync(CancellationToken cancellation)
    {
        _socket?.Dispose();
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(_target, cancellation);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _socket = socket;
    }

    /// <summary>Sends the request and reads the response; returns its status code.</summary>
    /// <exception cref="IOException">The connection closed or the response could not be read.</exception>
    public async ValueTask<int> SendAsync(CancellationToken cancellation)
    {
        if (_socket is null) await ConnectAsync(cancellation);
        var socket = _socket!;
        await socket.SendAsync(_request, SocketFlags.None, cancellation);

        var filled = 0;
        int headerEnd;
        while ((headerEnd = _buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0) filled = await ReceiveAsync(socket, filled, cancellation);

        var (status, contentLength, chunked, close) = ParseHead(_buffer.AsSpan(0, headerEnd));
        var position = headerEnd + 4;
        if (chunked)
        {
            while (true)
            {
                int lineEnd;
                while ((lineEnd = _buffer.AsSpan(position, filled - position).IndexOf("\r\n"u8)) < 0) filled = await ReceiveAsync(socket, filled, cancellation);
                var sizeText = _buffer.AsSpan(position, lineEnd);
                var semicolon = sizeText.IndexOf((byte)';');
                if (semicolon >= 0) sizeText = sizeText[..semicolon];
                if (!Utf8Parser.TryParse(sizeText, out int size, out _, 'x') || size < 0) throw new IOException("bad chunk size in the response");
                position += lineEnd + 2;
                // A chunk is its data and a CRLF; the last (empty) chunk is followed by the CRLF that ends the body.
                while (filled - position < size + 2) filled = await ReceiveAsync(socket, filled, cancellation);
                position += size + 2;
                if (size == 0) break;
            }
        }
        else
        {
            if (contentLength < 0) throw new IOException("response without Content-Length or chunked body on a keep-alive connection");
            while (filled - position < contentLength) filled = await ReceiveAsync(socket, filled, cancellation);
        }

        if (close)
        {
            socket.Dispose();
            _socket = null;
        }
        return status;
    }

    public void Dispose()
    {
        _socket?.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
    }

    private async ValueTask<int> ReceiveAsync(Socket socket, int filled, CancellationToken cancellation)
    {
        if (filled == _buffer.Length) throw new IOException($"response larger than {BufferSize} bytes");
        var read = await socket.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None, cancellation);
        if (read == 0)
        {
            socket.Dispose();
            _socket = null;
            throw new IOException("the server closed the connection");
        }
        return filled + read;
    }

    private static (int Status, long ContentLength, bool Chunked, bool Close) ParseHead(ReadOnlySpan<byte> head)
    {
        // "HTTP/1.1 200 OK": the status is the three digits after the first space.
        var space = head.IndexOf((byte)' ');
        if (space < 0 || head.Length < space + 4 || !Utf8Parser.TryParse(head.Slice(space + 1, 3), out int status, out _))
            throw new IOException("cannot read the response's status line");
        long contentLength = -1;
        bool chunked = false, close = false;
        var rest = head;
        while (rest.IndexOf("\r\n"u8) is var crlf and >= 0)
        {
            rest = rest[(crlf + 2)..];
            var line = rest.IndexOf("\r\n"u8) is var end and >= 0 ? rest[..end] : rest;
            var colon = line.IndexOf((byte)':');
            if (colon <= 0) continue;
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(name, "content-length"u8)) Utf8Parser.TryParse(value, out contentLength, out _);
            else if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8)) chunked = value.IndexOf("chunked"u8) >= 0;
            else if (Ascii.EqualsIgnoreCase(name, "connection"u8)) close = Ascii.EqualsIgnoreCase(value, "close"u8);
        }
        return (status, contentLength, chunked, close);
    }
}
