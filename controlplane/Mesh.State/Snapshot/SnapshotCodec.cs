using System.Collections.Immutable;
using System.Text.Json;
using Mesh.State.Queries;
using Mesh.State.Tables;

namespace Mesh.State.Snapshot;

/// <summary>
/// The on-disk image of the whole store: one versioned JSON document. Secondary indexes (locks by session, services
/// by name, queries by name and session, compiled templates) are rebuilt on restore rather than stored, so they can
/// never disagree with the rows.
/// </summary>
/// <remarks>
/// Versions: 1 (KV, tombstones, sessions, nodes, checks, services); 2 adds prepared queries; 3 adds the Connect CA
/// (configuration and roots); 4 adds config entries. A reader restores an older image as having none of the later tables; an older reader
/// refuses a newer image rather than drop tables it does not know.
/// </remarks>
internal static class SnapshotCodec
{
    private const int FormatVersion = 4;

    private static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private sealed record Image(
        int Version, ulong Index, IReadOnlyDictionary<string, ulong> TableIndexes, IReadOnlyList<KvEntry> Kv,
        IReadOnlyList<Tombstone> Tombstones, IReadOnlyList<Session> Sessions, IReadOnlyList<Node> Nodes,
        IReadOnlyList<HealthCheck> Checks, IReadOnlyList<ServiceInstance>? Services, IReadOnlyList<PreparedQuery>? PreparedQueries = null,
        CaConfiguration? CaConfig = null, IReadOnlyList<CaRoot>? CaRoots = null, IReadOnlyList<ConfigEntryRow>? ConfigEntries = null);

    public static void Write(StoreRoot root, Stream destination)
    {
        var image = new Image(FormatVersion, root.Index, root.TableIndexes, root.Kv.All().ToList(),
            root.Tombstones.All().ToList(), root.Sessions.All().ToList(), root.Nodes.All().ToList(), root.Checks.All().ToList(),
            root.Services.All().ToList(), root.PreparedQueries.All().ToList(), root.CaConfig, root.CaRoots, root.ConfigEntries.All().ToList());
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
        if (image.Version is < 1 or > FormatVersion) throw new InvalidDataException($"unsupported snapshot version {image.Version}");

        var bySession = ImmutableDictionary.CreateBuilder<string, ImmutableSortedSet<string>>(StringComparer.Ordinal);
        foreach (var g in image.Kv.Where(e => e.Session is not null).GroupBy(e => e.Session!))
            bySession[g.Key] = g.Select(e => e.Key).ToImmutableSortedSet(StringComparer.Ordinal);

        var services = image.Services ?? [];
        var byName = ImmutableDictionary.CreateBuilder<string, ImmutableSortedSet<string>>(StringComparer.Ordinal);
        foreach (var g in services.GroupBy(s => s.Service))
            byName[g.Key] = g.Select(s => s.RowKey).ToImmutableSortedSet(StringComparer.Ordinal);

        var queries = image.PreparedQueries ?? [];
        var queryNames = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        var templates = ImmutableDictionary.CreateBuilder<string, QueryTemplate>(StringComparer.Ordinal);
        foreach (var q in queries)
        {
            if (q.Name.Length > 0) queryNames[q.Name.ToLowerInvariant()] = q.ID;
            if (!q.IsTemplate) continue;
            try
            {
                templates[q.ID] = QueryTemplate.Compile(q);
            }
            catch (QueryTemplateException ex)
            {
                throw new InvalidDataException($"prepared query {q.ID}: failed compiling template: {ex.Message}", ex);
            }
        }
        var queriesBySession = ImmutableDictionary.CreateBuilder<string, ImmutableSortedSet<string>>(StringComparer.Ordinal);
        foreach (var g in queries.Where(q => q.Session.Length > 0).GroupBy(q => q.Session))
            queriesBySession[g.Key] = g.Select(q => q.ID).ToImmutableSortedSet(StringComparer.Ordinal);

        return StoreRoot.Empty with
        {
            CaConfig = image.CaConfig,
            CaRoots = [.. image.CaRoots ?? []],
            ConfigEntries = OrderedTable<ConfigEntryRow>.From(image.ConfigEntries ?? [], e => e.RowKey),
            PreparedQueries = OrderedTable<PreparedQuery>.From(queries, q => q.ID),
            QueryNames = queryNames.ToImmutable(),
            QueryTemplates = templates.ToImmutable(),
            QueriesBySession = queriesBySession.ToImmutable(),
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
