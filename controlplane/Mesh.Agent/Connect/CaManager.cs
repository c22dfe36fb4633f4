using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Mesh.Agent.Config;
using Mesh.Agent.Hosting;
using Mesh.Agent.Server;
using Mesh.Ca.Certificates;
using Mesh.Ca.Identity;
using Mesh.Ca.Providers;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Tables;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Connect;

/// <summary>A signed leaf as the CA hands it back.</summary>
/// <param name="CertPem">The leaf, followed by the certificates between it and the active root.</param>
/// <param name="SerialNumber">Colon hex.</param>
/// <param name="Id">The identity it certifies.</param>
/// <param name="ValidAfter">NotBefore.</param>
/// <param name="ValidBefore">NotAfter.</param>
/// <param name="RootId">The active root it chains to.</param>
public sealed record SignedLeaf(string CertPem, string SerialNumber, SpiffeId Id, DateTime ValidAfter, DateTime ValidBefore, string RootId);

/// <summary>A signing or configuration request that cannot be honoured; the message is for the caller (HTTP 400).</summary>
public sealed class CaRequestException(string message) : Exception(message);

/// <summary>The signing limit was reached; try again after <see cref="RetryAfter"/> (HTTP 429).</summary>
public sealed class CaRateLimitedException(TimeSpan retryAfter) : Exception("rate limit reached, try again later")
{
    /// <summary>When a retry may succeed.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The server side of the Connect CA. On start it makes the cluster ID, the configuration and the first root (or loads
/// them from the store), and keeps the provider that signs. It signs CSRs after checking their SPIFFE ID against the
/// trust domain and datacenter, within the configured rate. A configuration change that needs a new key makes a new
/// root, has the old root cross-sign it, and writes both (the old one inactive) with the new configuration in one
/// command; rotated-out roots are dropped once every leaf they signed has expired.
/// </summary>
public sealed partial class CaManager : IDisposable
{
    private readonly StateStore _store;
    private readonly StateWriter _writer;
    private readonly AgentIdentity _identity;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CsrRateLimiter _limiter;
    private readonly SemaphoreSlim _configGate = new(1, 1);
    // Providers replaced by a rotation: a signing may still be using one, so they are disposed with the manager.
    private readonly List<ICaProvider> _retired = [];
    private volatile ActiveCa? _active;

    /// <param name="store">The state store the CA lives in.</param>
    /// <param name="writer">Where its writes go.</param>
    /// <param name="identity">This agent (its datacenter scopes the SPIFFE IDs the CA signs).</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public CaManager(StateStore store, StateWriter writer, AgentIdentity identity, TimeProvider time, ILogger<CaManager> logger)
    {
        _store = store;
        _writer = writer;
        _identity = identity;
        _time = time;
        _logger = logger;
        _limiter = new CsrRateLimiter(time);
    }

    /// <summary>The trust domain, once initialized.</summary>
    public string TrustDomain => Active.TrustDomain;

    /// <summary>The settings in force.</summary>
    public CaSettings Settings => Active.Settings;

    /// <summary>CSRs signed since start.</summary>
    public long Signed => Interlocked.Read(ref _signed);

    /// <summary>CSRs refused by the rate limit since start.</summary>
    public long RateLimited => Interlocked.Read(ref _rateLimited);

    private long _signed;
    private long _rateLimited;

    private ActiveCa Active => _active ?? throw new InvalidOperationException("the CA is not initialized");

    /// <summary>
    /// Loads the CA from the store, or makes it: a cluster ID, the configuration from <paramref name="provider"/> and
    /// <paramref name="settings"/>, and a first root.
    /// </summary>
    /// <exception cref="ConfigException">The provider is not available, or the stored CA cannot be loaded.</exception>
    public async Task InitializeAsync(string provider, CaSettings settings, CancellationToken ct)
    {
        await _configGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var (_, stored) = _store.View().CaConfig();
            if (stored is not null)
            {
                var storedSettings = CaSettings.Parse(JsonDocument.Parse(stored.ConfigJson).RootElement);
                _active = Load(stored, storedSettings);
                LogLoaded(_active.TrustDomain, ActiveRoot().ID);
                return;
            }
            var clusterId = Guid.NewGuid().ToString();
            var fresh = MakeProvider(provider, clusterId, settings, ImmutableDictionary<string, string>.Empty);
            var now = _time.GetUtcNow();
            var rootPem = fresh.GenerateRoot(now);
            var root = RootRow(rootPem, settings, active: true, intermediates: []);
            var config = new CaConfiguration
            {
                ClusterID = clusterId,
                Provider = fresh.Name,
                ConfigJson = settings.ToJson(),
                ProviderState = fresh.State.ToImmutableDictionary(StringComparer.Ordinal),
            };
            var (result, _) = await _writer.ApplyAsync(new CaSetCommand(config, [root], 0), ct).ConfigureAwait(false);
            if (!result.Ok)
            {
                // Someone initialized it first (a restored snapshot, another server): use theirs.
                fresh.Dispose();
                var (_, theirs) = _store.View().CaConfig();
                _active = Load(theirs!, CaSettings.Parse(JsonDocument.Parse(theirs!.ConfigJson).RootElement));
                return;
            }
            _active = new ActiveCa(fresh, settings, SpiffeId.TrustDomainOf(clusterId), clusterId, root.ID, root.IntermediateCerts);
            LogInitialized(_active.TrustDomain, root.ID, settings.Key.Type, settings.Key.Bits);
        }
        finally
        {
            _configGate.Release();
        }
    }

    /// <summary>Signs a leaf for the SPIFFE ID in <paramref name="csrPem"/>.</summary>
    /// <param name="csrPem">The request.</param>
    /// <param name="madeHere">
    /// The request was made in this process with a key made a moment ago (the agent's own leaves), so its self-signature
    /// proves nothing new and is not checked. Requests from elsewhere are always checked.
    /// </param>
    /// <exception cref="CaRequestException">The CSR is malformed or names an identity this CA cannot certify.</exception>
    /// <exception cref="CaRateLimitedException">The signing limit is reached.</exception>
    public SignedLeaf Sign(string csrPem, bool madeHere = false)
    {
        var active = Active;
        CsrInfo csr;
        try
        {
            csr = CsrInfo.Parse(csrPem, verifySignature: !madeHere);
        }
        catch (CsrException ex)
        {
            throw new CaRequestException(ex.Message);
        }
        var id = Identity(csr, active.TrustDomain);
        var settings = active.Settings;
        if (!_limiter.TryAcquire(settings.CsrMaxPerSecond, settings.CsrMaxConcurrent))
        {
            Interlocked.Increment(ref _rateLimited);
            throw new CaRateLimitedException(_limiter.RetryAfter);
        }
        try
        {
            var now = _time.GetUtcNow();
            var cert = active.Provider.SignLeaf(csr, id, settings.LeafCertTtl, now);
            Interlocked.Increment(ref _signed);
            var pem = cert.Pem;
            var chain = active.Intermediates.IsEmpty ? pem : pem + string.Concat(active.Intermediates.Select(c => c.EndsWith('\n') ? c : c + "\n"));
            return new SignedLeaf(chain, CertificateFactory.ColonHex(cert.Serial), id, cert.NotBefore.UtcDateTime, cert.NotAfter.UtcDateTime, active.RootId);
        }
        finally
        {
            _limiter.Release(settings.CsrMaxConcurrent);
        }
    }

    private SpiffeId Identity(CsrInfo csr, string trustDomain)
    {
        if (csr.Uris.Count != 1) throw new CaRequestException($"CSR SAN contains {csr.Uris.Count} URIs; it must contain exactly one SPIFFE ID");
        if (!SpiffeId.TryParse(csr.Uris[0], out var id) || id.Kind == SpiffeKind.Authority)
            throw new CaRequestException($"CSR SAN does not contain a valid SPIFFE service or agent ID: {csr.Uris[0]}");
        if (!string.Equals(id.TrustDomain, trustDomain, StringComparison.OrdinalIgnoreCase))
            throw new CaRequestException($"SPIFFE ID in CSR from a different trust domain: {id.TrustDomain}, we are {trustDomain}");
        if (!string.Equals(id.Datacenter, _identity.Datacenter, StringComparison.Ordinal))
            throw new CaRequestException($"SPIFFE ID in CSR from a different datacenter: {id.Datacenter}, we are {_identity.Datacenter}");
        if (id.Kind == SpiffeKind.Service && id.Namespace != "default")
            throw new CaRequestException($"SPIFFE ID in CSR names namespace {id.Namespace}; only \"default\" exists");
        return id;
    }

    /// <summary>The active root as stored.</summary>
    public CaRoot ActiveRoot() => _store.View().CaRoots().Roots.FirstOrDefault(r => r.Active)
        ?? throw new InvalidOperationException("the CA has no active root");

    /// <summary>
    /// Applies a new configuration. A new key type or size (or provider) rotates the root: a new one is made, cross-signed
    /// by the old one (unless <paramref name="forceWithoutCrossSigning"/>), and published next to it.
    /// </summary>
    /// <exception cref="CaRequestException">The configuration is invalid or the provider unknown.</exception>
    public async Task UpdateAsync(string provider, CaSettings settings, bool forceWithoutCrossSigning, CancellationToken ct)
    {
        await _configGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var active = Active;
            var (_, stored) = _store.View().CaConfig();
            var (_, roots) = _store.View().CaRoots();
            var now = _time.GetUtcNow();
            var rotate = provider != active.Provider.Name || active.Settings.NeedsNewRoot(settings);
            if (!rotate)
            {
                var config = stored! with { ConfigJson = settings.ToJson() };
                await WriteAsync(config, roots, stored!.ModifyIndex, ct).ConfigureAwait(false);
                _active = active with { Settings = settings };
                LogConfigured(settings.LeafCertTtl.ToString());
                return;
            }

            var next = MakeProvider(provider, active.ClusterId, settings, ImmutableDictionary<string, string>.Empty);
            try
            {
                var newRootPem = next.GenerateRoot(now);
                string[] intermediates = [];
                if (!forceWithoutCrossSigning)
                {
                    using var newRoot = X509Certificate2.CreateFromPem(newRootPem);
                    intermediates = [active.Provider.CrossSignCa(newRoot, now)];
                }
                var newRow = RootRow(newRootPem, settings, active: true, intermediates);
                var updated = roots.Select(r => r.Active ? r with { Active = false, RotatedOutAt = now.UtcDateTime } : r).Append(newRow).ToList();
                var config = stored! with
                {
                    Provider = next.Name,
                    ConfigJson = settings.ToJson(),
                    ProviderState = next.State.ToImmutableDictionary(StringComparer.Ordinal),
                    ForceWithoutCrossSigning = forceWithoutCrossSigning,
                };
                await WriteAsync(config, updated, stored!.ModifyIndex, ct).ConfigureAwait(false);
                _active = new ActiveCa(next, settings, active.TrustDomain, active.ClusterId, newRow.ID, newRow.IntermediateCerts);
                active.Provider.Cleanup(providerTypeChange: provider != active.Provider.Name);
                lock (_retired) _retired.Add(active.Provider);
                LogRotated(newRow.ID, settings.Key.Type, settings.Key.Bits, !forceWithoutCrossSigning);
            }
            catch
            {
                if (!ReferenceEquals(_active?.Provider, next)) next.Dispose();
                throw;
            }
        }
        finally
        {
            _configGate.Release();
        }
    }

    /// <summary>
    /// Drops inactive roots rotated out more than twice the leaf lifetime ago: every leaf they signed has expired and
    /// been renewed under the new root by then.
    /// </summary>
    public async Task<int> PruneAsync(CancellationToken ct)
    {
        await _configGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var (_, stored) = _store.View().CaConfig();
            var (_, roots) = _store.View().CaRoots();
            if (stored is null) return 0;
            var cutoff = _time.GetUtcNow().UtcDateTime - 2 * Active.Settings.LeafCertTtl;
            var keep = roots.Where(r => r.Active || r.RotatedOutAt is null || r.RotatedOutAt > cutoff).ToList();
            if (keep.Count == roots.Count) return 0;
            await WriteAsync(stored, keep, stored.ModifyIndex, ct).ConfigureAwait(false);
            LogPruned(roots.Count - keep.Count);
            return roots.Count - keep.Count;
        }
        finally
        {
            _configGate.Release();
        }
    }

    /// <summary>Prunes rotated-out roots every <paramref name="every"/> until cancelled.</summary>
    public async Task RunAsync(TimeSpan every, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(every, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false)) await PruneAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task WriteAsync(CaConfiguration config, IReadOnlyList<CaRoot> roots, ulong cas, CancellationToken ct)
    {
        var (result, _) = await _writer.ApplyAsync(new CaSetCommand(config, roots, cas), ct).ConfigureAwait(false);
        if (!result.Ok) throw new CaRequestException(result.Error ?? "the CA configuration could not be written");
    }

    private ActiveCa Load(CaConfiguration stored, CaSettings settings)
    {
        try
        {
            var provider = MakeProvider(stored.Provider, stored.ClusterID, settings, stored.ProviderState);
            var root = _store.View().CaRoots().Roots.FirstOrDefault(r => r.Active)
                ?? throw new CaRequestException("the stored CA configuration has no active root");
            return new ActiveCa(provider, settings, SpiffeId.TrustDomainOf(stored.ClusterID), stored.ClusterID, root.ID, root.IntermediateCerts);
        }
        catch (CaRequestException ex)
        {
            throw new ConfigException(ex.Message);
        }
    }

    private ICaProvider MakeProvider(string name, string clusterId, CaSettings settings, IReadOnlyDictionary<string, string> state)
    {
        ICaProvider provider = name switch
        {
            "consul" => new BuiltinCaProvider(),
            _ => throw new CaRequestException($"CA provider \"{name}\" is not available in this version; use \"consul\" (the built-in CA)"),
        };
        try
        {
            provider.Configure(new CaProviderSettings(clusterId, _identity.Datacenter, IsPrimary: true, settings.Key, settings.RootCertTtl,
                settings.IntermediateCertTtl, state));
            return provider;
        }
        catch (CaProviderException ex)
        {
            provider.Dispose();
            throw new CaRequestException(ex.Message);
        }
    }

    private static CaRoot RootRow(string pem, CaSettings settings, bool active, IReadOnlyList<string> intermediates)
    {
        using var cert = X509Certificate2.CreateFromPem(pem);
        var serial = cert.SerialNumberBytes.Span;
        var low = serial.Length >= 8 ? BinaryPrimitives.ReadUInt64BigEndian(serial[^8..]) : 0;
        var ski = cert.Extensions.OfType<X509SubjectKeyIdentifierExtension>().First().SubjectKeyIdentifierBytes.Span;
        return new CaRoot
        {
            ID = CertificateFactory.Fingerprint(cert),
            Name = cert.GetNameInfo(X509NameType.SimpleName, false),
            SerialNumber = low,
            SigningKeyID = CertificateFactory.ColonHex(ski),
            NotBefore = cert.NotBefore.ToUniversalTime(),
            NotAfter = cert.NotAfter.ToUniversalTime(),
            RootCert = pem,
            IntermediateCerts = [.. intermediates],
            Active = active,
            PrivateKeyType = settings.Key.Type,
            PrivateKeyBits = settings.Key.Bits,
        };
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _active?.Provider.Dispose();
        lock (_retired)
        {
            foreach (var p in _retired) p.Dispose();
            _retired.Clear();
        }
        _configGate.Dispose();
    }

    /// <summary>
    /// Everything a signing needs, swapped as one: the provider, its settings, and the root it signs under with the
    /// certificates that chain that root to older ones. A signing that started before a rotation finishes with the old
    /// set, consistently labelled.
    /// </summary>
    private sealed record ActiveCa(ICaProvider Provider, CaSettings Settings, string TrustDomain, string ClusterId, string RootId,
        ImmutableArray<string> Intermediates);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connect CA initialized: trust domain {TrustDomain}, root {RootId} ({KeyType} {KeyBits})")]
    private partial void LogInitialized(string trustDomain, string rootId, string keyType, int keyBits);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connect CA loaded: trust domain {TrustDomain}, active root {RootId}")]
    private partial void LogLoaded(string trustDomain, string rootId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connect CA configuration updated (leaf TTL {LeafTtl}); the root is unchanged")]
    private partial void LogConfigured(string leafTtl);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connect CA root rotated: new root {RootId} ({KeyType} {KeyBits}), cross-signed: {CrossSigned}")]
    private partial void LogRotated(string rootId, string keyType, int keyBits, bool crossSigned);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connect CA dropped {Count} rotated-out root(s) whose leaves have all expired")]
    private partial void LogPruned(int count);
}
