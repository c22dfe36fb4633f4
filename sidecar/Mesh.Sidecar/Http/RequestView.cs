using Mesh.Sidecar.Rbac;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Mesh.Sidecar.Http;

/// <summary>
/// A downstream request as route matching, RBAC and hashing see it: headers by lower-case name with the
/// pseudo-headers <c>:method</c>, <c>:path</c> (with query), <c>:authority</c> and <c>:scheme</c> taken from the
/// request line, as Envoy presents them to its matchers.
/// </summary>
internal sealed class RequestView(HttpRequest request, string? principal) : IRbacSubject
{
    /// <summary>The downstream request.</summary>
    public HttpRequest Request { get; } = request;

    /// <inheritdoc />
    public string? Principal { get; } = principal;

    /// <inheritdoc />
    public bool IsHttp => true;

    /// <inheritdoc />
    public string Path => Request.Path.HasValue ? Request.Path.Value! : "/";

    /// <summary>The path with its query string, as <c>:path</c> carries it.</summary>
    public string PathAndQuery => Request.QueryString.HasValue ? Path + Request.QueryString.Value : Path;

    /// <summary>The authority (<c>Host</c> for HTTP/1.1, <c>:authority</c> for HTTP/2).</summary>
    public string Authority => Request.Host.HasValue ? Request.Host.Value! : string.Empty;

    /// <inheritdoc />
    public string? GetHeader(string name)
    {
        if (name.Length > 0 && name[0] == ':')
        {
            return name switch
            {
                ":method" => Request.Method,
                ":path" => PathAndQuery,
                ":authority" => Authority,
                ":scheme" => Request.Scheme,
                _ => null,
            };
        }

        if (string.Equals(name, "host", StringComparison.OrdinalIgnoreCase)) return Request.Host.HasValue ? Authority : null;
        return Request.Headers.TryGetValue(name, out var values) ? Join(values) : null;
    }

    /// <summary>The first value of a query parameter, or null when the parameter is absent.</summary>
    public string? GetQueryParameter(string name) =>
        Request.Query.TryGetValue(name, out var values) ? (values.Count > 0 ? values[0] ?? string.Empty : string.Empty) : null;

    private static string Join(StringValues values) => values.Count == 1 ? values[0] ?? string.Empty : string.Join(',', values.ToArray());
}
