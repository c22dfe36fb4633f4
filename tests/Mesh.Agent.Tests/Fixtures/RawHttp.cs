using System.Net.Sockets;
using System.Text;

namespace Mesh.Agent.Tests.Fixtures;

/// <summary>An HTTP response as read off the wire; <see cref="StatusCode"/> is null when none came back.</summary>
public sealed record RawHttpResponse(int? StatusCode, string StatusLine, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, string? Error)
{
    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A deliberately dumb HTTP/1.1 client over a raw socket: the request bytes go out exactly as given (no path
/// normalisation, any method, any bytes), one request per connection, and the response is read to EOF.
/// </summary>
public static class RawHttp
{
    /// <summary>Builds request bytes: request line, Host, Connection: close, Content-Length when a body is given.</summary>
    public static byte[] Request(string method, byte[] target, byte[]? body = null, IEnumerable<string>? extraHeaders = null, string host = "localhost")
    {
        var head = new MemoryStream();
        void Write(string s) => head.Write(Encoding.ASCII.GetBytes(s));
        Write(method);
        Write(" ");
        head.Write(target);
        Write(" HTTP/1.1\r\nHost: ");
        Write(host);
        Write("\r\nConnection: close\r\n");
        if (body is not null)
        {
            Write($"Content-Length: {body.Length}\r\n");
        }

        foreach (var header in extraHeaders ?? [])
        {
            Write(header);
            Write("\r\n");
        }

        Write("\r\n");
        if (body is not null)
        {
            head.Write(body);
        }

        return head.ToArray();
    }

    /// <summary>Sends <paramref name="request"/> and reads until the server closes or <paramref name="timeout"/>.</summary>
    /// <param name="halfClose">Shut down the sending side after the bytes; Kestrel then treats the connection as
    /// gone and may abort the request without answering, so only use it for bytes that are not a whole request.</param>
    public static async Task<RawHttpResponse> SendAsync(string host, int port, byte[] request, TimeSpan timeout, bool isHead = false, bool halfClose = false)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var received = new MemoryStream();
        string? error = null;
        try
        {
            await socket.ConnectAsync(host.Trim('[', ']'), port, cts.Token);
            // Read while writing: a server may answer (413, 400) before it has read a large body.
            var reading = ReadToEndAsync(socket, received, cts.Token);
            try
            {
                await socket.SendAsync(request, SocketFlags.None, cts.Token);
                if (halfClose)
                {
                    socket.Shutdown(SocketShutdown.Send);
                }
            }
            catch (SocketException ex)
            {
                error = $"send: {ex.SocketErrorCode}";
            }

            await reading;
        }
        catch (OperationCanceledException)
        {
            error = $"timed out after {timeout.TotalSeconds:0.#}s";
        }
        catch (SocketException ex)
        {
            error = (error is null ? "" : error + "; ") + $"receive: {ex.SocketErrorCode}";
        }

        return Parse(received.ToArray(), isHead, error);
    }

    private static async Task ReadToEndAsync(Socket socket, MemoryStream into, CancellationToken cancellation)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellation);
            if (n == 0)
            {
                return;
            }

            into.Write(buffer, 0, n);
        }
    }

    private static RawHttpResponse Parse(byte[] raw, bool isHead, string? error)
    {
        // Skip interim responses (100 Continue, 103 Early Hints): the final answer follows them.
        while (raw.Length > 12 && raw.AsSpan().StartsWith("HTTP/1.1 1"u8) && !raw.AsSpan().StartsWith("HTTP/1.1 101"u8))
        {
            var end = IndexOf(raw, "\r\n\r\n"u8);
            if (end < 0)
            {
                break;
            }

            raw = raw[(end + 4)..];
        }

        var split = IndexOf(raw, "\r\n\r\n"u8);
        if (split < 0)
        {
            return new RawHttpResponse(null, "", [], raw, error ?? (raw.Length == 0 ? "no response" : "incomplete response head"));
        }

        var lines = Encoding.Latin1.GetString(raw, 0, split).Split("\r\n");
        var statusLine = lines[0];
        var parts = statusLine.Split(' ', 3);
        int? status = parts.Length >= 2 && parts[0].StartsWith("HTTP/", StringComparison.Ordinal) && int.TryParse(parts[1], out var code)
            ? code
            : null;
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0)
            {
                headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
        }

        var body = raw.AsSpan(split + 4).ToArray();
        var response = new RawHttpResponse(status, statusLine, headers, body, error);
        if (isHead || status is 204 or 304 || (status is >= 100 and < 200))
        {
            return response with { Body = [] };
        }

        if (string.Equals(response.Header("Transfer-Encoding"), "chunked", StringComparison.OrdinalIgnoreCase))
        {
            return response with { Body = Dechunk(body) };
        }

        if (int.TryParse(response.Header("Content-Length"), out var length) && length <= body.Length)
        {
            return response with { Body = body[..length] };
        }

        return response;
    }

    private static byte[] Dechunk(byte[] body)
    {
        var output = new MemoryStream();
        var pos = 0;
        while (pos < body.Length)
        {
            var eol = IndexOf(body.AsSpan(pos), "\r\n"u8);
            if (eol < 0)
            {
                break;
            }

            var sizeText = Encoding.ASCII.GetString(body, pos, eol).Split(';')[0].Trim();
            if (!int.TryParse(sizeText, System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0)
            {
                break;
            }

            pos += eol + 2;
            size = Math.Min(size, body.Length - pos);
            output.Write(body, pos, size);
            pos += size + 2;
        }

        return output.ToArray();
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle) => haystack.IndexOf(needle);
}
