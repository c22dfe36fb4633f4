using System.Collections.Concurrent;
using Mesh.Agent.Config;
using Mesh.State;
using Mesh.State.Tables;

namespace Mesh.Agent.Dns;

/// <summary>
/// Answers by question, valid for one state of the catalog and one configuration. Resolving walks the catalog; serving
/// the same question again only shuffles and encodes, which is what lets the server answer tens of thousands of queries
/// a second. Any change to nodes, services, checks or prepared queries starts a new generation, so an answer is never
/// staler than the state it was read from. A generation holds at most <see cref="MaxEntries"/> questions, so a flood of
/// random names cannot grow it without bound.
/// </summary>
internal sealed class DnsAnswerCache(StateStore store, DnsResolver resolver, IPreparedQueryLookup? queries)
{
    /// <summary>Most questions one generation remembers.</summary>
    public const int MaxEntries = 20_000;

    private Generation _current = new(ulong.MaxValue, new DnsConfig());

    /// <summary>Answers served from the cache.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Answers resolved from the catalog.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    private long _hits;
    private long _misses;

    /// <summary>The answer to a question, from the cache when the catalog has not changed since it was resolved.</summary>
    public DnsAnswer Get(DnsConfig cfg, string name, ushort type, bool oddLabel)
    {
        var view = store.View();
        var version = view.TableIndex(TableNames.Nodes, TableNames.Services, TableNames.Checks);
        if (queries is not null) version = Math.Max(version, queries.Index(view));
        var gen = Volatile.Read(ref _current);
        if (gen.Version != version || !ReferenceEquals(gen.Config, cfg))
        {
            var fresh = new Generation(version, cfg);
            gen = Interlocked.CompareExchange(ref _current, fresh, gen) == gen ? fresh : Volatile.Read(ref _current);
        }
        var key = new Key(name, type, oddLabel);
        if (gen.Version == version && ReferenceEquals(gen.Config, cfg) && gen.Answers.TryGetValue(key, out var hit))
        {
            Interlocked.Increment(ref _hits);
            return hit;
        }
        Interlocked.Increment(ref _misses);
        var answer = resolver.Resolve(view, cfg, name, type, oddLabel);
        // Only a generation that matches the view it was resolved from may keep the answer.
        if (gen.Version == version && ReferenceEquals(gen.Config, cfg) && gen.Answers.Count < MaxEntries) gen.Answers.TryAdd(key, answer);
        return answer;
    }

    private readonly record struct Key(string Name, ushort Type, bool OddLabel);

    private sealed class Generation(ulong version, DnsConfig config)
    {
        public ulong Version { get; } = version;
        public DnsConfig Config { get; } = config;
        public ConcurrentDictionary<Key, DnsAnswer> Answers { get; } = new();
    }
}
