using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf.WellKnownTypes;
using HttpRbac = Envoy.Extensions.Filters.Http.Rbac.V3.RBAC;

namespace Mesh.Xds.Resources;

/// <summary>The HTTP filters Mesh puts in a connection manager, always with a typed config.</summary>
/// <remarks>
/// The router must be the last filter and carry its typed config: Envoy needs a terminal filter, and gRPC's xDS client
/// (<c>@grpc/grpc-js-xds</c>) rejects a listener whose last filter is not the router, whose router comes earlier, whose
/// filter names repeat, or whose filters lack a typed config.
/// </remarks>
internal static class HttpFilters
{
    /// <summary>Envoy's name of the router filter.</summary>
    public const string RouterName = "envoy.filters.http.router";

    /// <summary>Envoy's name of the HTTP RBAC filter.</summary>
    public const string RbacName = "envoy.filters.http.rbac";

    /// <summary>The router filter (terminal).</summary>
    public static HttpFilter Router() => new() { Name = RouterName, TypedConfig = Any.Pack(new Router()) };

    /// <summary>The RBAC filter with the given rules.</summary>
    public static HttpFilter Rbac(HttpRbac rbac) => new() { Name = RbacName, TypedConfig = Any.Pack(rbac) };
}
