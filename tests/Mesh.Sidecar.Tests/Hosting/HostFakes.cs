using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf.WellKnownTypes;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Http;
using Mesh.Sidecar.Listeners;
using Mesh.Sidecar.Upstreams;
using Microsoft.AspNetCore.Http;

namespace Mesh.Sidecar.Tests.Hosting;

/// <summary>Records every state it is asked to apply; can be told to fail the next apply.</summary>
internal sealed class RecordingListenerManager : IListenerManager
{
    private readonly ConcurrentQueue<SidecarState> _applied = new();

    public IReadOnlyCollection<SidecarState> Applied => _applied;

    public volatile Exception? FailNext;

    public TimeSpan? DrainedWith { get; private set; }

    public bool Disposed { get; private set; }

    public Task ApplyAsync(SidecarState state, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref FailNext, null) is { } failure) return Task.FromException(failure);
        _applied.Enqueue(state);
        return Task.CompletedTask;
    }

    public Task DrainAsync(TimeSpan timeout)
    {
        DrainedWith = timeout;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}

internal sealed class NoClusters : IClusterManager
{
    public ClusterConfig? Find(string cluster) => null;

    public IEndpointLease? Pick(string cluster, in LbContext context) => null;

    public ValueTask<UpstreamConnection> ConnectAsync(IEndpointLease lease, CancellationToken cancellationToken) =>
        ValueTask.FromException<UpstreamConnection>(new UpstreamConnectException("no clusters in this test"));
}

internal sealed class NoHttp : IHttpProxy
{
    public Task HandleAsync(HttpContext context, string listenerName) => Task.CompletedTask;
}

/// <summary>Translates by type into preset changes, whatever the resources (the scripted server sends none).</summary>
internal sealed class PresetTranslator : IResourceTranslator
{
    public ConcurrentDictionary<string, Func<SidecarState, SidecarState>> ByType { get; } = new(StringComparer.Ordinal);

    public SidecarState Apply(SidecarState current, string typeUrl, IReadOnlyList<Any> resources) =>
        ByType.TryGetValue(typeUrl, out var change) ? change(current) : throw new XdsConfigException($"no preset for {typeUrl}");
}

/// <summary>Hand-built configuration pieces.</summary>
internal static class States
{
    public static readonly ListenerConfig Public = new("public_listener:127.0.0.1:21000", new IPEndPoint(IPAddress.Loopback, 21000),
        TrafficDirection.Inbound, new DownstreamTlsConfig("leaf", "roots", true, [], SslProtocols.Tls12 | SslProtocols.Tls13), null,
        new TcpProxyConfig("public_listener", "local_app", null, null));

    public static readonly ListenerConfig HttpUpstream = new("db:127.0.0.1:9191", new IPEndPoint(IPAddress.Loopback, 9191),
        TrafficDirection.Outbound, null, null, new HttpConnectionManagerConfig("upstream.db", HttpCodec.Auto, null, "db", null, null, false));

    public static readonly ClusterConfig LocalApp = new("local_app", ClusterKind.Static, TimeSpan.FromSeconds(5), LbPolicy.RoundRobin, 2, null,
        UpstreamProtocol.Http1, null, [new EndpointConfig(new IPEndPoint(IPAddress.Loopback, 8080), EndpointHealth.Healthy, 1, 0)], [], null, null);

    public static SidecarState WithListeners(this SidecarState state, params ListenerConfig[] listeners) =>
        state with { Listeners = listeners.ToFrozenDictionary(l => l.Name, StringComparer.Ordinal) };

    public static SidecarState WithClusters(this SidecarState state, params ClusterConfig[] clusters) =>
        state with { Clusters = clusters.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal) };

    public static SidecarState WithSecrets(this SidecarState state)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=web", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web"));
        request.CertificateExtensions.Add(san.Build());
        var leaf = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(3));
        return state with
        {
            Certificates = new Dictionary<string, CertificateSecret> { ["leaf"] = new("leaf", leaf, []) }.ToFrozenDictionary(StringComparer.Ordinal),
            ValidationContexts = new Dictionary<string, ValidationSecret> { ["roots"] = new("roots", [leaf]) }.ToFrozenDictionary(StringComparer.Ordinal),
        };
    }

    public static SidecarState WithRoute(this SidecarState state, string name) =>
        state with { Routes = new Dictionary<string, RouteTableConfig> { [name] = new(name, []) }.ToFrozenDictionary(StringComparer.Ordinal) };
}
