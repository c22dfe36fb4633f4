using System.Net.Http.Headers;
using Mesh.Sidecar.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Mesh.Sidecar.Http;

/// <summary>Copies headers between the downstream exchange and the upstream one, as an HTTP proxy must.</summary>
internal static class RequestHeaders
{
    /// <summary>Headers that belong to one connection (RFC 9110 §7.6.1) and are never forwarded.</summary>
    public static bool IsHopByHop(string name) =>
        name.Length switch
        {
            2 => name.Equals("te", StringComparison.OrdinalIgnoreCase),
            7 => name.Equals("upgrade", StringComparison.OrdinalIgnoreCase) || name.Equals("trailer", StringComparison.OrdinalIgnoreCase),
            10 => name.Equals("connection", StringComparison.OrdinalIgnoreCase) || name.Equals("keep-alive", StringComparison.OrdinalIgnoreCase),
            16 => name.Equals("proxy-connection", StringComparison.OrdinalIgnoreCase),
            17 => name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase),
            _ => name.StartsWith("proxy-", StringComparison.OrdinalIgnoreCase),
        };

    /// <summary>Headers the proxy sets itself and therefore does not copy from the downstream request.</summary>
    private static bool IsSetByProxy(string name) =>
        name.Equals("host", StringComparison.OrdinalIgnoreCase)
        || name.Equals("content-length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("x-forwarded-client-cert", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Copies the downstream request's end-to-end headers onto <paramref name="message"/>. <c>TE: trailers</c> is
    /// kept (gRPC needs it); Upgrade and Connection are kept only when <paramref name="upgrading"/>.
    /// </summary>
    public static void CopyRequestHeaders(HttpRequest request, HttpRequestMessage message, bool upgrading)
    {
        foreach (var header in request.Headers)
        {
            var name = header.Key;
            if (name.Length > 0 && name[0] == ':') continue;
            if (IsSetByProxy(name)) continue;
            if (IsHopByHop(name))
            {
                if (name.Equals("te", StringComparison.OrdinalIgnoreCase) && ContainsTrailers(header.Value))
                {
                    message.Headers.TryAddWithoutValidation("TE", "trailers");
                }
                else if (upgrading && name.Equals("upgrade", StringComparison.OrdinalIgnoreCase))
                {
                    message.Headers.TryAddWithoutValidation("Upgrade", (IEnumerable<string>)header.Value!);
                    message.Headers.TryAddWithoutValidation("Connection", "Upgrade");
                }

                continue;
            }

            AddRequestHeader(message, name, header.Value);
        }

        if (request.Host.HasValue) message.Headers.Host = request.Host.Value;
    }

    /// <summary>Adds a header to the message, or to its content when it is a content header.</summary>
    public static void AddRequestHeader(HttpRequestMessage message, string name, StringValues values)
    {
        // The single-value overload avoids boxing the StringValues and enumerating it: nearly every header has one value.
        if (values.Count == 1)
        {
            var value = values[0];
            if (message.Headers.TryAddWithoutValidation(name, value)) return;
            message.Content?.Headers.TryAddWithoutValidation(name, value);
            return;
        }

        if (message.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!)) return;
        message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
    }

    /// <summary>Applies a route's request header changes (removals, then additions) to the upstream request.</summary>
    public static void Apply(HeaderMutation mutation, HttpRequestMessage message)
    {
        if (mutation.IsEmpty) return;
        foreach (var name in mutation.Remove)
        {
            message.Headers.Remove(name);
            message.Content?.Headers.Remove(name);
        }

        foreach (var add in mutation.Add)
        {
            if (string.Equals(add.Name, "host", StringComparison.OrdinalIgnoreCase) || string.Equals(add.Name, ":authority", StringComparison.Ordinal))
            {
                message.Headers.Host = add.Value;
                continue;
            }

            if (!add.Append)
            {
                message.Headers.Remove(add.Name);
                message.Content?.Headers.Remove(add.Name);
            }

            AddRequestHeader(message, add.Name, add.Value);
        }
    }

    /// <summary>Applies a route's response header changes to the downstream response.</summary>
    public static void Apply(HeaderMutation mutation, HttpResponse response)
    {
        if (mutation.IsEmpty) return;
        foreach (var name in mutation.Remove) response.Headers.Remove(name);
        foreach (var add in mutation.Add)
        {
            response.Headers[add.Name] = add.Append && response.Headers.TryGetValue(add.Name, out var existing)
                ? StringValues.Concat(existing, add.Value)
                : new StringValues(add.Value);
        }
    }

    /// <summary>Copies the upstream response's status and end-to-end headers to the downstream response.</summary>
    public static void CopyResponseHeaders(HttpResponseMessage upstream, HttpResponse response, bool upgrading)
    {
        response.StatusCode = (int)upstream.StatusCode;
        CopyHeaders(upstream.Headers, response, upgrading);
        CopyHeaders(upstream.Content.Headers, response, upgrading);
    }

    private static void CopyHeaders(HttpHeaders headers, HttpResponse response, bool upgrading)
    {
        foreach (var header in headers.NonValidated)
        {
            var name = header.Key;
            if (IsHopByHop(name))
            {
                if (upgrading && name.Equals("upgrade", StringComparison.OrdinalIgnoreCase)) response.Headers[name] = ToValues(header.Value);
                continue;
            }

            response.Headers[name] = ToValues(header.Value);
        }
    }

    /// <summary>Copies the upstream response's trailers (gRPC's <c>grpc-status</c>) when the downstream protocol carries them.</summary>
    public static void CopyTrailers(HttpResponseMessage upstream, HttpResponse response)
    {
        if (!response.SupportsTrailers()) return;
        foreach (var header in upstream.TrailingHeaders.NonValidated)
        {
            response.AppendTrailer(header.Key, ToValues(header.Value));
        }
    }

    private static StringValues ToValues(HeaderStringValues values)
    {
        if (values.Count == 1)
        {
            foreach (var value in values) return new StringValues(value);
        }

        var array = new string[values.Count];
        var i = 0;
        foreach (var value in values) array[i++] = value;
        return new StringValues(array);
    }

    private static bool ContainsTrailers(StringValues values)
    {
        foreach (var value in values)
        {
            if (value is not null && value.Contains("trailers", StringComparison.OrdinalIgnoreCase)) return true;
        }

        return false;
    }
}
