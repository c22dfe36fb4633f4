using System.Collections.Immutable;
using System.Text.Json;
using Mesh.Connect.Entries;
using Mesh.Consensus.Dev;
using Mesh.State;
using Mesh.State.Commands;
using Mesh.State.Fsm;
using Mesh.State.Tables;
using Mesh.Xds.ProxyCfg;

namespace Mesh.Xds.Tests.ProxyCfg;

/// <summary>
/// A store driven through the real FSM and dev log, with the demo's shape: node n1 with a CA, and helpers to register
/// services with sidecars, set checks and write config entries.
/// </summary>
internal sealed class MeshFixture
{
    public const string Node = "n1";
    public const string ClusterId = "11111111-2222-3333-4444-555555555555";
    public const string TrustDomain = ClusterId + ".consul";

    public MeshFixture()
    {
        Store = new StateStore();
        Log = new InMemoryLog(new StateMachine(Store), "127.0.0.1:8300");
        Apply(new RegisterNodeCommand(new Node { Name = Node, Address = "10.0.0.1", Datacenter = "dc1" },
            [new HealthCheck { Node = Node, CheckID = "serfHealth", Status = HealthStatus.Passing }]));
        Apply(new CaSetCommand(new CaConfiguration { ClusterID = ClusterId },
            [new CaRoot { ID = "aa:bb", RootCert = "-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----", Active = true }], null));
    }

    public StateStore Store { get; }
    public InMemoryLog Log { get; }

    public void Apply(Command command)
    {
        var r = Log.ApplyAsync(CommandCodec.Encode(command with { Now = DateTime.UtcNow }), CancellationToken.None).GetAwaiter().GetResult();
        var result = (CommandResult)r.Response!;
        Assert.True(result.Ok, result.Error);
    }

    /// <summary>Registers a service instance and its sidecar proxy (with the given upstreams), as sidecar_service would.</summary>
    public void RegisterWithSidecar(string service, string id, int port, int proxyPort, IReadOnlyDictionary<string, string>? meta = null,
        params (string Name, int Port)[] upstreams)
    {
        var metaMap = (meta ?? new Dictionary<string, string>()).ToImmutableDictionary();
        Register(new ServiceInstance { Node = Node, ID = id, Service = service, Port = port, Meta = metaMap });
        var proxy = new
        {
            DestinationServiceName = service,
            DestinationServiceID = id,
            LocalServiceAddress = "127.0.0.1",
            LocalServicePort = port,
            Upstreams = upstreams.Select(u => new { DestinationName = u.Name, LocalBindPort = u.Port }).ToArray(),
        };
        Register(new ServiceInstance
        {
            Node = Node, ID = id + "-sidecar-proxy", Service = service + "-sidecar-proxy", Port = proxyPort, Kind = "connect-proxy",
            Meta = metaMap, ProxyJson = JsonSerializer.Serialize(proxy),
        });
    }

    public void Register(ServiceInstance service, params HealthCheck[] checks) =>
        Apply(new CatalogRegisterCommand(new Node { Name = Node, Address = "10.0.0.1", Datacenter = "dc1" }, service, checks, SkipNodeUpdate: true));

    public void Check(string serviceId, string status) =>
        Apply(new CatalogRegisterCommand(new Node { Name = Node, Address = "10.0.0.1", Datacenter = "dc1" }, null,
            [new HealthCheck { Node = Node, CheckID = "service:" + serviceId, ServiceID = serviceId, Status = status }], SkipNodeUpdate: true));

    /// <summary>Writes a config entry given as JSON in the API's shape.</summary>
    public void Entry(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var entry = EntryCodec.Read(doc.RootElement);
        Apply(new ConfigEntrySetCommand(new ConfigEntryRow { Kind = entry.Kind, Name = entry.Name, Json = EntryCodec.ToJson(entry) }, null));
    }

    public static LeafCertificate Leaf(string serial = "01") => new("-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n", "KEY", serial);
}
