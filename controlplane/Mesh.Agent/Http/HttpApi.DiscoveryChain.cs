using System.Text.Json;
using Mesh.Connect.DiscoveryChain;
using Mesh.State.Text;

namespace Mesh.Agent.Http;

// /v1/discovery-chain/<service>: GET, and POST with overrides; a blocking query on the config entries.
internal sealed partial class HttpApi
{
    private async Task DiscoveryChain(ApiRequest r)
    {
        var service = Uri.UnescapeDataString(r.Suffix);
        if (service.Length == 0 || service.Contains('/', StringComparison.Ordinal)) throw ApiException.BadRequest("Missing service name");
        string? protocol = null;
        TimeSpan? connectTimeout = null;
        if (r.Method == "POST")
        {
            var body = await r.ReadBodyAsync(MaxJsonBodySize).ConfigureAwait(false);
            if (body.Length > 0)
            {
                using var doc = JsonIn.Parse(body);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("Request decode failed: the body must be a JSON object");
                protocol = JsonIn.String(doc.RootElement, "OverrideProtocol") is { Length: > 0 } p ? p : null;
                if (JsonIn.String(doc.RootElement, "OverrideConnectTimeout") is { Length: > 0 } t)
                    connectTimeout = GoDuration.TryParse(t, out var d) && d >= TimeSpan.Zero ? d
                        : throw ApiException.BadRequest($"Request decode failed: OverrideConnectTimeout \"{t}\" is not a duration");
            }
        }
        if (protocol is not (null or "tcp" or "http" or "http2" or "grpc"))
            throw ApiException.BadRequest($"OverrideProtocol must be tcp, http, http2 or grpc, not \"{protocol}\"");
        var request = new ChainRequest(service, _identity.Datacenter, Connect?.Ca.TrustDomain ?? "", protocol, connectTimeout);
        var (_, chain) = await BlockingAsync(r, (v, ws) =>
        {
            var (index, rows) = v.ConfigEntryList(null, ws);
            try
            {
                // The writer keeps every stored entry parsed, so a wake-up compiles without re-reading all the JSON.
                return (index, Chain: ChainCompiler.Compile(request, new ChainEntries(EntryWriter.Entries(rows))));
            }
            catch (ChainCompileException ex)
            {
                throw ApiException.BadRequest(ex.Message);
            }
        }, x => x.Item1).ConfigureAwait(false);
        await JsonOut.WriteAsync(r.Http, Pretty(r), w => ChainJson.Write(w, chain)).ConfigureAwait(false);
    }
}
