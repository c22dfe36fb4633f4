using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mesh.Ca.Identity;
using Mesh.State;
using Mesh.State.Watch;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Connect;

/// <summary>A leaf certificate with its private key, as <c>/v1/agent/connect/ca/leaf/&lt;service&gt;</c> returns it.</summary>
/// <param name="Service">The service it identifies.</param>
/// <param name="Id">Its SPIFFE ID.</param>
/// <param name="CertPem">The certificate, followed by any certificates between it and the active root.</param>
/// <param name="PrivateKeyPem">The key, made on this agent and never sent anywhere.</param>
/// <param name="SerialNumber">Colon hex.</param>
/// <param name="ValidAfter">NotBefore.</param>
/// <param name="ValidBefore">NotAfter.</param>
/// <param name="Index">Moves up every time the service's leaf is replaced (the blocking-query index).</param>
/// <param name="RootId">The root it was signed under.</param>
public sealed record IssuedLeaf(string Service, SpiffeId Id, string CertPem, string PrivateKeyPem, string SerialNumber,
    DateTime ValidAfter, DateTime ValidBefore, ulong Index, string RootId);

/// <summary>
/// The agent's leaf certificates, one per service asked for. A leaf is issued on first request (the key is made here;
/// only a CSR leaves the agent) and then kept fresh in the background: renewed at a random point between 60% and 90%
/// of its lifetime, so a fleet's renewals spread out, and renewed at once, spread over a window sized to the signing
/// rate, when the active root changes. A rate-limited signing is retried after the server's hint plus jitter, so a
/// rotation storm slows down but loses no request. Leaves nobody asked for in three days are dropped instead of renewed.
/// </summary>
public sealed partial class LeafCertificates : IAsyncDisposable
{
    /// <summary>How long a leaf is kept renewed without being asked for (Consul's agent cache keeps them three days).</summary>
    public static readonly TimeSpan Unused = TimeSpan.FromDays(3);

    private readonly CaManager _ca;
    private readonly StateStore _store;
    private readonly string _datacenter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _indexGate = new();
    private ulong _index;
    private long _issued;

    /// <param name="ca">The CA that signs.</param>
    /// <param name="store">The store (its index seeds the leaves' blocking index; root changes are watched there).</param>
    /// <param name="datacenter">This agent's datacenter.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public LeafCertificates(CaManager ca, StateStore store, string datacenter, TimeProvider time, ILogger<LeafCertificates> logger)
    {
        _ca = ca;
        _store = store;
        _datacenter = datacenter;
        _time = time;
        _logger = logger;
    }

    /// <summary>Leaves issued since start (first issues and renewals).</summary>
    public long Issued => Interlocked.Read(ref _issued);

    /// <summary>Services with a leaf kept fresh.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// The current leaf for <paramref name="service"/>, issuing one if needed. With <paramref name="minIndex"/> &gt; 0 this
    /// is a blocking query: it returns when a leaf with a higher index exists, or when <paramref name="wait"/> runs out.
    /// </summary>
    /// <exception cref="CaRequestException">The service name cannot be certified.</exception>
    public async Task<IssuedLeaf> GetAsync(string service, ulong minIndex, TimeSpan wait, CancellationToken ct)
    {
        if (service.Length == 0 || service.Contains('/', StringComparison.Ordinal))
            throw new CaRequestException($"invalid service name \"{service}\"");
        var entry = _entries.GetOrAdd(service, s => new Entry(s));
        entry.LastRequested = _time.GetUtcNow().UtcDateTime;
        var current = entry.Current;
        if (current is null || current.ValidBefore <= _time.GetUtcNow().UtcDateTime)
        {
            try
            {
                current = await IssueAsync(entry, ct).ConfigureAwait(false);
            }
            catch (Exception) when (entry.Current is null && !ct.IsCancellationRequested)
            {
                // A service whose first leaf cannot be issued leaves nothing behind to renew.
                _entries.TryRemove(new KeyValuePair<string, Entry>(service, entry));
                throw;
            }
        }
        if (minIndex == 0 || current.Index > minIndex) return current;

        var changed = entry.Changed;
        if (entry.Current!.Index > minIndex) return entry.Current;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
        timeout.CancelAfter(wait);
        try
        {
            await changed.WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The wait ran out (or the agent is stopping): answer with what there is, as every blocking query does.
        }
        return entry.Current!;
    }

    /// <summary>Watches the CA roots and renews every leaf when the active root changes, until <paramref name="ct"/> fires.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
        var token = linked.Token;
        var activeRoot = "";
        try
        {
            while (!token.IsCancellationRequested)
            {
                var ws = new WatchSet(_store.Watches);
                var (_, roots) = _store.View().CaRoots(ws);
                var active = roots.FirstOrDefault(r => r.Active)?.ID ?? "";
                if (activeRoot.Length > 0 && active.Length > 0 && active != activeRoot) RenewAllForNewRoot(active);
                activeRoot = active;
                await ws.WaitAsync(TimeSpan.FromMinutes(10), token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private void RenewAllForNewRoot(string rootId)
    {
        var stale = _entries.Values.Where(e => e.Current is { } c && c.RootId != rootId).ToList();
        if (stale.Count == 0) return;
        // Spread the renewals over the time the signing rate needs for all of them, so they do not all hit the limit at once.
        var rate = _ca.Settings.CsrMaxPerSecond;
        var window = rate > 0 ? TimeSpan.FromSeconds(stale.Count / rate) : TimeSpan.Zero;
        LogRootChanged(rootId, stale.Count, window.TotalSeconds);
        foreach (var e in stale) Schedule(e, TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * window.TotalMilliseconds));
    }

    private Task<IssuedLeaf> IssueAsync(Entry entry, CancellationToken ct)
    {
        Task<IssuedLeaf> task;
        lock (entry.Gate)
        {
            // One issuance per service at a time: every caller waiting for a leaf shares the one in flight. A finished
            // one is never reused (it may even have finished synchronously, inside this lock).
            if (entry.Issuing is not { IsCompleted: false }) entry.Issuing = IssueLoopAsync(entry);
            task = entry.Issuing;
        }
        return task.WaitAsync(ct);
    }

    private async Task<IssuedLeaf> IssueLoopAsync(Entry entry)
    {
        var token = _stopping.Token;
        while (true)
        {
            token.ThrowIfCancellationRequested();
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var id = SpiffeId.Service(_ca.TrustDomain, _datacenter, entry.Service);
            // The CA takes only the key and the SPIFFE ID from the request; the subject is built, not formatted, so a
            // service name with commas or quotes cannot break it.
            var subject = new X500DistinguishedNameBuilder();
            subject.AddCommonName(entry.Service);
            var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(id.ToUri());
            request.CertificateExtensions.Add(san.Build());
            SignedLeaf signed;
            try
            {
                signed = _ca.Sign(request.CreateSigningRequestPem(), madeHere: true);
            }
            catch (CaRateLimitedException limited)
            {
                // Wait out the limit with jitter, so retries from many services do not arrive in lockstep.
                var pause = limited.RetryAfter + TimeSpan.FromMilliseconds(Random.Shared.Next(10, 250));
                await Task.Delay(pause, _time, token).ConfigureAwait(false);
                continue;
            }
            var leaf = new IssuedLeaf(entry.Service, signed.Id, signed.CertPem, key.ExportECPrivateKeyPem(), signed.SerialNumber,
                signed.ValidAfter, signed.ValidBefore, NextIndex(), signed.RootId);
            Interlocked.Increment(ref _issued);
            Publish(entry, leaf);
            var lifetime = leaf.ValidBefore - leaf.ValidAfter;
            var renewAt = leaf.ValidAfter + lifetime * (0.6 + 0.3 * Random.Shared.NextDouble());
            Schedule(entry, renewAt - _time.GetUtcNow().UtcDateTime);
            return leaf;
        }
    }

    private void Publish(Entry entry, IssuedLeaf leaf)
    {
        TaskCompletionSource previous;
        lock (entry.Gate)
        {
            entry.Current = leaf;
            previous = entry.ChangedSource;
            entry.ChangedSource = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        previous.TrySetResult();
    }

    private void Schedule(Entry entry, TimeSpan delay)
    {
        lock (entry.Gate)
        {
            entry.Timer?.Dispose();
            if (_stopping.IsCancellationRequested) return;
            entry.Timer = _time.CreateTimer(_ => _ = RenewAsync(entry), null, delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task RenewAsync(Entry entry)
    {
        if (_time.GetUtcNow().UtcDateTime - entry.LastRequested > Unused)
        {
            if (_entries.TryRemove(new KeyValuePair<string, Entry>(entry.Service, entry))) LogDropped(entry.Service);
            lock (entry.Gate) entry.Timer?.Dispose();
            return;
        }
        try
        {
            await IssueAsync(entry, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the current leaf stays until it expires and renewal is tried again in a minute:
            // a renewal that is never rescheduled would leave the service with an expired certificate.
            LogRenewFailed(entry.Service, ex.Message);
            Schedule(entry, TimeSpan.FromMinutes(1));
        }
    }

    private ulong NextIndex()
    {
        lock (_indexGate)
        {
            _index = Math.Max(_index + 1, _store.Index);
            return _index;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var e in _entries.Values)
        {
            Task? issuing;
            lock (e.Gate)
            {
                e.Timer?.Dispose();
                issuing = e.Issuing;
            }
            if (issuing is not null)
            {
                try
                {
                    await issuing.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Stopping: an issuance that failed or was cancelled has nobody left to tell.
                }
            }
        }
        _stopping.Dispose();
    }

    private sealed class Entry(string service)
    {
        public string Service { get; } = service;
        public Lock Gate { get; } = new();
        public volatile IssuedLeaf? Current;
        public Task<IssuedLeaf>? Issuing;
        public ITimer? Timer;
        public DateTime LastRequested;
        public TaskCompletionSource ChangedSource = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Changed
        {
            get { lock (Gate) return ChangedSource.Task; }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connect root changed to {RootId}: renewing {Count} leaf certificate(s) over {Seconds:0.#}s")]
    private partial void LogRootChanged(string rootId, int count, double seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "leaf certificate for {Service} not asked for in three days: dropped")]
    private partial void LogDropped(string service);

    [LoggerMessage(Level = LogLevel.Warning, Message = "renewing the leaf certificate for {Service} failed: {Reason}")]
    private partial void LogRenewFailed(string service, string reason);
}
