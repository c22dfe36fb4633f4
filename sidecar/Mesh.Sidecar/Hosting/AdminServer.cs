using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Tls;
using Mesh.Xds.Cache;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Hosting;

/// <summary>
/// The admin endpoints: <c>GET /metrics</c> (Prometheus text), <c>GET /ready</c> (200 LIVE once serving a first
/// complete configuration, else 503 with the phase) and <c>GET /config_dump</c> (a JSON summary of the accepted
/// state; certificates are described by serial and expiry, private keys never leave the process).
/// </summary>
internal static class AdminServer
{
    private const string PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Answers one admin request.</summary>
    public static Task HandleAsync(HttpContext context, SidecarHost host)
    {
        var path = context.Request.Path.Value ?? "";
        var known = path is "/metrics" or "/stats/prometheus" or "/ready" or "/config_dump";
        if (!known)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return context.Response.WriteAsync("not found: the admin server serves /metrics, /ready and /config_dump\n");
        }

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, HEAD";
            return context.Response.WriteAsync($"{path} takes GET\n");
        }

        switch (path)
        {
            case "/ready":
                context.Response.StatusCode = host.IsReady ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
                context.Response.ContentType = "text/plain; charset=utf-8";
                return context.Response.WriteAsync(host.Readiness + "\n");
            case "/config_dump":
                context.Response.ContentType = "application/json";
                return context.Response.WriteAsync(ConfigDump(host));
            default:
                var text = new StringBuilder(4096);
                host.Metrics.Registry.WriteTo(text);
                context.Response.ContentType = PrometheusContentType;
                return context.Response.WriteAsync(text.ToString());
        }
    }

    /// <summary>The JSON summary of the accepted state, marking which listeners are served (warm).</summary>
    internal static string ConfigDump(SidecarHost host)
    {
        var accepted = host.Accepted.Current;
        var served = host.Served.Current;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("ready", host.Readiness);
            json.WriteStartObject("xds");
            json.WriteBoolean("connected", host.Metrics.XdsConnected.With().Value == 1);
            json.WriteNumber("streams", host.Ads.StreamsOpened);
            json.WriteStartArray("accepted_types");
            foreach (var type in TypeUrls.Ordered)
            {
                if (host.Ads.AcceptedTypes.Contains(type)) json.WriteStringValue(TypeUrls.ShortName(type));
            }

            json.WriteEndArray();
            json.WriteEndObject();

            json.WriteStartArray("listeners");
            foreach (var listener in accepted.Listeners.Values.OrderBy(l => l.Name, StringComparer.Ordinal))
            {
                WriteListener(json, listener, served.Listeners.TryGetValue(listener.Name, out var s) && ReferenceEquals(s, listener));
            }

            json.WriteEndArray();

            json.WriteStartArray("clusters");
            foreach (var cluster in accepted.Clusters.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                WriteCluster(json, cluster, accepted);
            }

            json.WriteEndArray();

            json.WriteStartArray("routes");
            foreach (var route in accepted.Routes.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("name", route.Name);
                json.WriteStartArray("virtual_hosts");
                foreach (var vhost in route.VirtualHosts)
                {
                    json.WriteStartObject();
                    json.WriteString("name", vhost.Name);
                    json.WriteNumber("routes", vhost.Routes.Length);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();

            json.WriteStartArray("secrets");
            foreach (var secret in accepted.Certificates.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("name", secret.Name);
                json.WriteString("type", "tls_certificate");
                WriteCertificate(json, secret.Certificate);
                json.WriteNumber("intermediates", secret.Intermediates.Count);
                json.WriteEndObject();
            }

            foreach (var secret in accepted.ValidationContexts.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                json.WriteStartObject();
                json.WriteString("name", secret.Name);
                json.WriteString("type", "validation_context");
                json.WriteStartArray("roots");
                foreach (var root in secret.Roots)
                {
                    json.WriteStartObject();
                    WriteCertificate(json, root);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteListener(Utf8JsonWriter json, ListenerConfig listener, bool warm)
    {
        json.WriteStartObject();
        json.WriteString("name", listener.Name);
        json.WriteString("address", listener.Address.ToString());
        json.WriteString("direction", listener.Direction == TrafficDirection.Inbound ? "inbound" : "outbound");
        json.WriteBoolean("warm", warm);
        if (listener.Tls is { } tls)
        {
            json.WriteStartObject("tls");
            json.WriteString("certificate", tls.CertificateSecret);
            if (tls.ValidationSecret is { } roots) json.WriteString("validation", roots);
            json.WriteBoolean("require_client_certificate", tls.RequireClientCertificate);
            json.WriteEndObject();
        }

        if (listener.NetworkRbac is { } rbac) WriteRbac(json, "network_rbac", rbac);
        json.WriteStartObject("app");
        json.WriteString("stat_prefix", listener.App.StatPrefix);
        switch (listener.App)
        {
            case TcpProxyConfig tcp:
                json.WriteString("type", "tcp_proxy");
                if (tcp.Cluster is { } cluster) json.WriteString("cluster", cluster);
                if (tcp.WeightedClusters is { } weighted) WriteWeighted(json, weighted);
                break;
            case HttpConnectionManagerConfig http:
                json.WriteString("type", "http_connection_manager");
                json.WriteString("codec", http.Codec.ToString().ToLowerInvariant());
                if (http.RdsName is { } rds) json.WriteString("rds", rds);
                if (http.InlineRoutes is { } inline) json.WriteString("inline_routes", inline.Name);
                if (http.HttpRbac is { } httpRbac) WriteRbac(json, "http_rbac", httpRbac);
                json.WriteBoolean("tracing", http.Tracing is not null);
                break;
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteRbac(Utf8JsonWriter json, string name, RbacConfig rbac)
    {
        json.WriteStartObject(name);
        json.WriteString("action", rbac.Action == RbacAction.Allow ? "allow" : "deny");
        json.WriteStartArray("policies");
        foreach (var policy in rbac.Policies) json.WriteStringValue(policy.Name);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteWeighted(Utf8JsonWriter json, WeightedClusterSet weighted)
    {
        json.WriteStartArray("weighted_clusters");
        foreach (var cluster in weighted.Clusters)
        {
            json.WriteStartObject();
            json.WriteString("name", cluster.Name);
            json.WriteNumber("weight", cluster.Weight);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteCluster(Utf8JsonWriter json, ClusterConfig cluster, SidecarState state)
    {
        json.WriteStartObject();
        json.WriteString("name", cluster.Name);
        json.WriteString("kind", cluster.Kind.ToString().ToLowerInvariant());
        json.WriteString("lb", cluster.LbPolicy switch
        {
            LbPolicy.RoundRobin => "round_robin",
            LbPolicy.LeastRequest => "least_request",
            LbPolicy.RingHash => "ring_hash",
            LbPolicy.Maglev => "maglev",
            _ => "random",
        });
        json.WriteString("protocol", cluster.Protocol == UpstreamProtocol.Http2 ? "http2" : "http1");
        json.WriteNumber("connect_timeout_ms", (long)cluster.ConnectTimeout.TotalMilliseconds);
        if (cluster.Tls is { } tls)
        {
            if (tls.Sni is { } sni) json.WriteString("sni", sni);
            json.WriteStartArray("expected_uri_sans");
            foreach (var san in tls.ExpectedUriSans) json.WriteStringValue(san);
            json.WriteEndArray();
        }

        if (cluster.Kind == ClusterKind.Aggregate)
        {
            json.WriteStartArray("children");
            foreach (var child in cluster.AggregateClusters) json.WriteStringValue(child);
            json.WriteEndArray();
        }
        else
        {
            var endpoints = cluster.Kind == ClusterKind.Static
                ? cluster.StaticEndpoints
                : state.Endpoints.TryGetValue(cluster.EdsServiceName ?? cluster.Name, out var assignment) ? assignment.Endpoints : [];
            if (cluster.Kind == ClusterKind.Eds) json.WriteString("eds_service_name", cluster.EdsServiceName ?? cluster.Name);
            json.WriteStartArray("endpoints");
            foreach (var endpoint in endpoints)
            {
                json.WriteStartObject();
                json.WriteString("address", endpoint.Address.ToString());
                json.WriteString("health", endpoint.Health.ToString().ToLowerInvariant());
                json.WriteNumber("weight", endpoint.Weight);
                json.WriteNumber("priority", endpoint.Priority);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteCertificate(Utf8JsonWriter json, X509Certificate2 certificate)
    {
        json.WriteString("serial", certificate.SerialNumber);
        json.WriteString("subject", certificate.Subject);
        json.WriteStartArray("uri_sans");
        foreach (var uri in PeerIdentity.UriSans(certificate)) json.WriteStringValue(uri);
        json.WriteEndArray();
        json.WriteString("not_before", certificate.NotBefore.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        json.WriteString("not_after", certificate.NotAfter.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
    }
}
