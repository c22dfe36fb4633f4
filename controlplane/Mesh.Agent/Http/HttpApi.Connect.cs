using System.Text.Json;
using Mesh.Agent.Config;
using Mesh.Agent.Connect;
using Mesh.Ca.Identity;
using Mesh.State.Tables;
using Microsoft.AspNetCore.Http;

namespace Mesh.Agent.Http;

/// <summary>The Connect CA and authorization services the API fronts; absent when Connect is off.</summary>
/// <param name="Ca">The server's CA.</param>
/// <param name="Leaves">This agent's leaf certificates.</param>
/// <param name="Authorizer">Connection decisions.</param>
internal sealed record ConnectServices(CaManager Ca, LeafCertificates Leaves, IConnectAuthorizer Authorizer);

// /v1/connect/ca/roots, /v1/connect/ca/configuration, /v1/agent/connect/ca/roots, /v1/agent/connect/ca/leaf/<service>,
// /v1/agent/connect/authorize.
internal sealed partial class HttpApi
{
    /// <summary>Set by the host when Connect is enabled.</summary>
    public ConnectServices? Connect { get; set; }

    /// <summary>Where gRPC (xDS) listens, set once it does; <c>/v1/agent/self</c> reports these ports.</summary>
    public IReadOnlyList<Uri> GrpcAddresses { get; set; } = [];

    private int BoundPort(string scheme, int configured) =>
        GrpcAddresses.FirstOrDefault(a => a.Scheme == scheme)?.Port ?? configured;

    private ConnectServices RequireConnect() => Connect ?? throw ApiException.BadRequest("Connect must be enabled in order to use this endpoint");

    private async Task CaRoots(ApiRequest r)
    {
        var connect = RequireConnect();
        var (_, roots) = await BlockingAsync(r, (v, ws) => v.CaRoots(ws), x => x.Index).ConfigureAwait(false);
        if (r.Get("pem") is "true" or "1" or "")
        {
            // ?pem=true: the trust bundle as one PEM file, roots first, then their intermediates.
            var pem = string.Concat(roots.Select(x => Line(x.RootCert)).Concat(roots.SelectMany(x => x.IntermediateCerts).Select(Line)));
            r.Http.Response.ContentType = "application/pem-certificate-chain";
            await r.Http.Response.WriteAsync(pem, r.Aborted).ConfigureAwait(false);
            return;
        }
        var trustDomain = connect.Ca.TrustDomain;
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WriteString("ActiveRootID", roots.FirstOrDefault(x => x.Active)?.ID ?? "");
            w.WriteString("TrustDomain", trustDomain);
            w.WriteStartArray("Roots");
            foreach (var root in roots) WriteRoot(w, root);
            w.WriteEndArray();
            w.WriteEndObject();
        }).ConfigureAwait(false);

        static string Line(string pem) => pem.EndsWith('\n') ? pem : pem + "\n";
    }

    private static void WriteRoot(Utf8JsonWriter w, CaRoot root)
    {
        w.WriteStartObject();
        w.WriteString("ID", root.ID);
        w.WriteString("Name", root.Name);
        w.WriteNumber("SerialNumber", root.SerialNumber);
        w.WriteString("SigningKeyID", root.SigningKeyID);
        w.WriteString("ExternalTrustDomain", root.ExternalTrustDomain);
        w.WriteString("NotBefore", root.NotBefore.ToUniversalTime());
        w.WriteString("NotAfter", root.NotAfter.ToUniversalTime());
        w.WriteString("RootCert", root.RootCert);
        if (root.IntermediateCerts.IsEmpty) w.WriteNull("IntermediateCerts");
        else
        {
            w.WriteStartArray("IntermediateCerts");
            foreach (var c in root.IntermediateCerts) w.WriteStringValue(c);
            w.WriteEndArray();
        }
        w.WriteBoolean("Active", root.Active);
        w.WriteString("PrivateKeyType", root.PrivateKeyType);
        w.WriteNumber("PrivateKeyBits", root.PrivateKeyBits);
        w.WriteNumber("CreateIndex", root.CreateIndex);
        w.WriteNumber("ModifyIndex", root.ModifyIndex);
        w.WriteEndObject();
    }

    private async Task CaConfiguration(ApiRequest r)
    {
        var connect = RequireConnect();
        if (r.Method == "PUT")
        {
            await CaConfigurationSet(r, connect).ConfigureAwait(false);
            return;
        }
        var (_, config) = await BlockingAsync(r, (v, ws) => v.CaConfig(ws), x => x.Index).ConfigureAwait(false);
        if (config is null) throw new ApiException(404, "CA configuration not found");
        var settings = connect.Ca.Settings;
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WriteString("Provider", config.Provider);
            w.WritePropertyName("Config");
            settings.WriteJson(w);
            // The provider's keys never leave the servers: Consul answers State as null too.
            w.WriteNull("State");
            w.WriteBoolean("ForceWithoutCrossSigning", config.ForceWithoutCrossSigning);
            w.WriteNumber("CreateIndex", config.CreateIndex);
            w.WriteNumber("ModifyIndex", config.ModifyIndex);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task CaConfigurationSet(ApiRequest r, ConnectServices connect)
    {
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        if (body.Length == 0) throw ApiException.BadRequest("Request decode failed: a CA configuration body is required");
        using var doc = JsonIn.Parse(body);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("Request decode failed: the body must be a JSON object");
        var provider = JsonIn.String(root, "Provider") is { Length: > 0 } p ? p : "consul";
        CaSettings settings;
        try
        {
            settings = CaSettings.Parse(JsonIn.TryGet(root, "Config", out var c) ? c : default);
        }
        catch (ConfigException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
        var force = JsonIn.TryGet(root, "ForceWithoutCrossSigning", out var f) && f.ValueKind == JsonValueKind.True;
        try
        {
            await connect.Ca.UpdateAsync(provider, settings, force, r.Aborted).ConfigureAwait(false);
        }
        catch (CaRequestException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
        await JsonOut.WriteBoolAsync(r.Http, Pretty(r), true).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>POST /v1/connect/ca/sign</c>: signs a CSR (<c>{"CSR": "&lt;pem&gt;"}</c>). Consul offers this to agents as the
    /// server RPC <c>ConnectCA.Sign</c>; here it is HTTP, for tools and proxies that bring their own key. Over the signing
    /// rate it answers 429 with <c>Retry-After</c>.
    /// </summary>
    private async Task CaSign(ApiRequest r)
    {
        var connect = RequireConnect();
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        if (body.Length == 0) throw ApiException.BadRequest("Request decode failed: a body with a CSR is required");
        using var doc = JsonIn.Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("Request decode failed: the body must be a JSON object");
        var csr = JsonIn.String(doc.RootElement, "CSR") ?? throw ApiException.BadRequest("CSR is required");
        SignedLeaf signed;
        try
        {
            signed = connect.Ca.Sign(csr);
        }
        catch (CaRequestException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
        catch (CaRateLimitedException ex)
        {
            r.Http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(ex.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new ApiException(429, ex.Message);
        }
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WriteString("SerialNumber", signed.SerialNumber);
            w.WriteString("CertPEM", signed.CertPem);
            var service = signed.Id.Kind == SpiffeKind.Service;
            w.WriteString("Service", service ? signed.Id.Name : "");
            w.WriteString("ServiceURI", service ? signed.Id.ToString() : "");
            w.WriteString("Agent", service ? "" : signed.Id.Name);
            w.WriteString("AgentURI", service ? "" : signed.Id.ToString());
            w.WriteString("ValidAfter", signed.ValidAfter);
            w.WriteString("ValidBefore", signed.ValidBefore);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task AgentConnectLeaf(ApiRequest r)
    {
        var connect = RequireConnect();
        var service = Uri.UnescapeDataString(r.Suffix);
        if (service.Length == 0) throw ApiException.BadRequest("Missing service name");
        var opts = r.QueryOptions();
        IssuedLeaf leaf;
        Interlocked.Increment(ref _blocking);
        try
        {
            leaf = await connect.Leaves.GetAsync(service, opts.MinIndex, opts.WaitWithJitter(), r.Aborted).ConfigureAwait(false);
        }
        catch (CaRequestException ex)
        {
            throw ApiException.BadRequest(ex.Message);
        }
        finally
        {
            Interlocked.Decrement(ref _blocking);
        }
        SetMeta(r, leaf.Index, opts);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WriteString("SerialNumber", leaf.SerialNumber);
            w.WriteString("CertPEM", leaf.CertPem);
            w.WriteString("PrivateKeyPEM", leaf.PrivateKeyPem);
            w.WriteString("Service", leaf.Service);
            w.WriteString("ServiceURI", leaf.Id.ToString());
            w.WriteString("Agent", "");
            w.WriteString("AgentURI", "");
            w.WriteString("Kind", "");
            w.WriteString("ValidAfter", leaf.ValidAfter);
            w.WriteString("ValidBefore", leaf.ValidBefore);
            w.WriteNumber("CreateIndex", leaf.Index);
            w.WriteNumber("ModifyIndex", leaf.Index);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    private async Task AgentConnectAuthorize(ApiRequest r)
    {
        var connect = RequireConnect();
        var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
        if (body.Length == 0) throw ApiException.BadRequest("Request decode failed: a body with Target and ClientCertURI is required");
        using var doc = JsonIn.Parse(body);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("Request decode failed: the body must be a JSON object");
        var target = JsonIn.String(root, "Target") ?? "";
        if (target.Length == 0) throw ApiException.BadRequest("Target service must be specified");
        var uri = JsonIn.String(root, "ClientCertURI") ?? "";
        if (uri.Length == 0) throw ApiException.BadRequest("Client URI must be specified");
        if (!SpiffeId.TryParse(uri, out var id)) throw ApiException.BadRequest("ClientCertURI not a valid Connect identifier");
        if (id.Kind != SpiffeKind.Service) throw ApiException.BadRequest("ClientCertURI not a valid Service identifier");
        AuthorizeDecision decision = !string.Equals(id.TrustDomain, connect.Ca.TrustDomain, StringComparison.OrdinalIgnoreCase)
            ? new AuthorizeDecision(false, "Identity from an external trust domain")
            : connect.Authorizer.Authorize(_store.View(), id, target);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("Authorized", decision.Authorized);
            w.WriteString("Reason", decision.Reason);
            w.WriteEndObject();
        }).ConfigureAwait(false);
    }
}
