using System.Collections.Immutable;
using System.Text.Json;
using Mesh.State.Tables;

namespace Mesh.State.Snapshot;

/// <summary>
/// The on-disk image of the whole store: one versioned JSON document. Secondary indexes (locks by session) are
/// rebuilt on restore rather than stored, so they can never disagree with the rows.
/// </summary>
internal static class SnapshotCodec
{
    private const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private sealed record Image(
        int Version, ulong Index, IReadOnlyDictionary<string, ulong> TableIndexes, IReadOnlyList<KvEntry> Kv,
        IReadOnlyList<Tombstone> Tombstones, IReadOnlyList<Session> Sessions, IReadOnlyList<Node> Nodes,
        IReadOnlyList<HealthCheck> Checks, IReadOnlyList<ServiceInstance>? Services);

    public static void Write(StoreRoot root, Stream destination)
    {
        var image = new Image(FormatVersion, root.Index, root.TableIndexes, root.Kv.All().ToList(),
            root.Tombstones.All().ToList(), root.Sessions.All().ToList(), root.Nodes.All().ToList(), root.Checks.All().ToList(),
            root.Services.All().ToList());
        JsonSerializer.Serialize(destination, image, Options);
    }

    /// <exception cref="InvalidDataException">The stream is not a snapshot this version can read.</exception>
    public static StoreRoot Read(Stream source)
    {
        Image image;
        try
        {
            image = JsonSerializer.Deserialize<Image>(source, Options) ?? throw new InvalidDataException("empty snapshot");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"malformed snapshot: {ex.Message}", ex);
        }
        if (image.Version != FormatVersion) throw new InvalidDataException($"unsupported snapshot version {image.Version}");

        var bySession = ImmutableDictionary.CreateBuilder<string, ImmutableSortedSet<string>>(StringComparer.Ordinal);
        foreach (var g in image.Kv.Where(e => e.Session is not null).GroupBy(e => e.Session!))
            bySession[g.Key] = g.Select(e => e.Key).ToImmutableSortedSet(StringComparer.Ordinal);

        var services = image.Services ?? [];
        var byName = ImmutableDictionary.CreateBuilder<string, ImmutableSortedSet<string>>(StringComparer.Ordinal);
        foreach (var g in services.GroupBy(s => s.Service))
            byName[g.Key] = g.Select(s => s.RowKey).ToImmutableSortedSet(StringComparer.Ordinal);

        return StoreRoot.Empty with
        {
            Services = OrderedTable<ServiceInstance>.From(services, s => s.RowKey),
            ServicesByName = byName.ToImmutable(),
            Index = image.Index,
            TableIndexes = image.TableIndexes.ToImmutableDictionary(StringComparer.Ordinal),
            Kv = OrderedTable<KvEntry>.From(image.Kv, e => e.Key),
            Tombstones = OrderedTable<Tombstone>.From(image.Tombstones, t => t.Key),
            Sessions = OrderedTable<Session>.From(image.Sessions, s => s.ID),
            Nodes = OrderedTable<Node>.From(image.Nodes, n => n.Name),
            Checks = OrderedTable<HealthCheck>.From(image.Checks, c => c.RowKey),
            KvBySession = bySession.ToImmutable(),
        };
    }
}
