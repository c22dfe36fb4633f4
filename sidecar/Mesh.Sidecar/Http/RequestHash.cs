using Mesh.Sidecar.Config;

namespace Mesh.Sidecar.Http;

/// <summary>
/// The request hash for ring-hash and maglev clusters, from the route's hash policies in order: each policy that
/// finds its input contributes a 64-bit FNV-1a hash, combined as Envoy combines them (rotate left by one, xor); a
/// terminal policy that produced a hash stops the walk.
/// </summary>
internal static class RequestHash
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>The hash, or null when no policy found its input (the balancer then picks at random).</summary>
    public static ulong? Compute(IReadOnlyList<HashPolicyConfig> policies, RequestView request, string? sourceAddress)
    {
        ulong? hash = null;
        for (var i = 0; i < policies.Count; i++)
        {
            var policy = policies[i];
            var input = policy switch
            {
                HashPolicyConfig.Header header => request.GetHeader(header.Name),
                HashPolicyConfig.Cookie cookie => request.Request.Cookies.TryGetValue(cookie.Name, out var value) ? value : null,
                HashPolicyConfig.SourceIp => sourceAddress,
                HashPolicyConfig.QueryParameter query => request.GetQueryParameter(query.Name),
                _ => null,
            };

            if (input is null) continue;
            var value64 = Fnv1a(input);
            hash = hash is { } previous ? ((previous << 1) | (previous >> 63)) ^ value64 : value64;
            if (policy.Terminal) break;
        }

        return hash;
    }

    /// <summary>64-bit FNV-1a over the UTF-16 code units' low and high bytes.</summary>
    public static ulong Fnv1a(string input)
    {
        var hash = FnvOffset;
        foreach (var c in input)
        {
            hash = (hash ^ (byte)c) * FnvPrime;
            hash = (hash ^ (byte)(c >> 8)) * FnvPrime;
        }

        return hash;
    }
}
