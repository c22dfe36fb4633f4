using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Ca.Certificates;
using Mesh.Ca.Identity;
using Mesh.Ca.Keys;

namespace Mesh.Ca.Providers;

/// <summary>
/// The built-in CA (<c>consul</c> provider): a root key and self-signed root made with System.Security.Cryptography,
/// kept in <see cref="State"/> (so in the state store). The primary datacenter signs leaves with the root key directly,
/// as Consul's built-in provider does; a secondary makes an intermediate key and has the primary sign it.
/// </summary>
public sealed class BuiltinCaProvider : ICaProvider
{
    private const string KeyState = "private_key", RootState = "root_cert", IntermediateKeyState = "intermediate_key", IntermediateState = "intermediate_cert";

    private readonly Lock _gate = new();
    private CaProviderSettings? _settings;
    private Dictionary<string, string> _state = new(StringComparer.Ordinal);
    private CaSigner? _root;
    private CaSigner? _signer;

    /// <inheritdoc/>
    public string Name => "consul";

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> State
    {
        get { lock (_gate) return new Dictionary<string, string>(_state, StringComparer.Ordinal); }
    }

    /// <inheritdoc/>
    public void Configure(CaProviderSettings settings)
    {
        if (CaKeySpec.Problem(settings.KeySpec.Type, settings.KeySpec.Bits) is { } why) throw new CaProviderException(why);
        lock (_gate)
        {
            _settings = settings;
            _state = new Dictionary<string, string>(settings.State, StringComparer.Ordinal);
            DisposeSigners();
            if (_state.TryGetValue(KeyState, out var key) && _state.TryGetValue(RootState, out var root))
                _root = Load(root, key, "root");
            if (_state.TryGetValue(IntermediateKeyState, out var ikey) && _state.TryGetValue(IntermediateState, out var icert))
                _signer = Load(icert, ikey, "intermediate");
        }
    }

    /// <inheritdoc/>
    public string GenerateRoot(DateTimeOffset now)
    {
        lock (_gate)
        {
            var s = Settings;
            if (!s.IsPrimary) throw new CaProviderException("a secondary datacenter does not make a root; it uses the primary's");
            if (_root is null)
            {
                var key = s.KeySpec.Generate();
                var cert = CertificateFactory.CreateRoot(key, s.TrustDomain, $"Mesh CA Primary Cert {RandomNumberGenerator.GetInt32(1, int.MaxValue)}", now, s.RootTtl);
                _root = new CaSigner(cert, key);
                _state[KeyState] = CaKeySpec.ToPem(key);
                _state[RootState] = CertificateFactory.ToPem(cert);
            }
            return CertificateFactory.ToPem(_root.Certificate);
        }
    }

    /// <inheritdoc/>
    public string GenerateIntermediate(DateTimeOffset now)
    {
        lock (_gate)
        {
            var s = Settings;
            if (s.IsPrimary) return CertificateFactory.ToPem(Root.Certificate);
            throw new CaProviderException("a secondary datacenter's intermediate is signed by the primary, which needs cross-datacenter RPC");
        }
    }

    /// <inheritdoc/>
    public string ActiveIntermediate()
    {
        lock (_gate) return CertificateFactory.ToPem(Signer.Certificate);
    }

    /// <inheritdoc/>
    public IssuedCertificate SignLeaf(CsrInfo csr, SpiffeId id, TimeSpan ttl, DateTimeOffset now)
    {
        CaSigner signer;
        lock (_gate) signer = Signer;
        // Signing reads only immutable signer state, so leaves are signed outside the lock and in parallel.
        return CertificateFactory.SignLeaf(signer, csr.SubjectPublicKeyInfo.Span, id, csr.DnsNames, csr.IpAddresses, now, ttl);
    }

    /// <inheritdoc/>
    public string SignIntermediate(CsrInfo csr, DateTimeOffset now)
    {
        CaSigner root;
        lock (_gate) root = Root;
        var s = Settings;
        using var cert = CertificateFactory.SignCa(root, csr.PublicKey, new X500DistinguishedName(csr.SubjectName.Span), s.TrustDomain, now, s.IntermediateTtl);
        return CertificateFactory.ToPem(cert);
    }

    /// <inheritdoc/>
    public string CrossSignCa(X509Certificate2 otherRoot, DateTimeOffset now)
    {
        CaSigner root;
        lock (_gate) root = Root;
        // The cross-signed certificate keeps the new root's subject and key, so a chain built from the new root's leaves
        // can continue through it to the old root; it lasts as long as the old root allows.
        using var cert = CertificateFactory.SignCa(root, otherRoot.PublicKey, otherRoot.SubjectName, Settings.TrustDomain, now,
            otherRoot.NotAfter.ToUniversalTime() - now.UtcDateTime);
        return CertificateFactory.ToPem(cert);
    }

    /// <inheritdoc/>
    public void Cleanup(bool providerTypeChange)
    {
        // Everything the built-in provider has lives in the state store and goes with the configuration it belonged to.
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate) DisposeSigners();
    }

    private CaProviderSettings Settings => _settings ?? throw new CaProviderException("the provider is not configured");

    private CaSigner Root => _root ?? throw new CaProviderException("the CA has no root yet");

    private CaSigner Signer => _signer ?? Root;

    private void DisposeSigners()
    {
        _root?.Dispose();
        _signer?.Dispose();
        _root = _signer = null;
    }

    private static CaSigner Load(string certPem, string keyPem, string what)
    {
        try
        {
            var cert = X509Certificate2.CreateFromPem(certPem);
            var key = CaKeySpec.FromPem(keyPem);
            return new CaSigner(cert, key);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new CaProviderException($"the stored {what} certificate or key cannot be read: {ex.Message}");
        }
    }
}
