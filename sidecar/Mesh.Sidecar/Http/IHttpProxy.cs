using Mesh.Sidecar.Config;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Http;

/// <summary>Serves the HTTP requests of HTTP connection manager listeners: RBAC, routing, forwarding.</summary>
internal interface IHttpProxy
{
    /// <summary>Handles one request that arrived on <paramref name="listenerName"/>, reading the current state.</summary>
    Task HandleAsync(HttpContext context, string listenerName);
}
