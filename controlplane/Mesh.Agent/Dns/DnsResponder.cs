using Mesh.Agent.Config;
using Mesh.Agent.Dns.Wire;

namespace Mesh.Agent.Dns;

/// <summary>What to do with a packet once it has been read.</summary>
internal enum DnsOutcome
{
    /// <summary>Send nothing (a malformed packet, counted).</summary>
    Drop,

    /// <summary>Send the message in the session's writer.</summary>
    Reply,

    /// <summary>The name is outside the domains: forward the packet to the recursors.</summary>
    Recurse,
}

/// <summary>Per-loop scratch state: the parsed query, the writer and what shuffling and trimming need, reused per packet.</summary>
internal sealed class DnsSession
{
    /// <summary>The query being answered.</summary>
    public DnsQuery Query { get; } = new();

    /// <summary>Where the response is written.</summary>
    public DnsMessageWriter Writer { get; } = new();

    /// <summary>The order of the current answer's entries.</summary>
    public int[] Order { get; set; } = new int[64];

    /// <summary>Extras already written into the current response (an SRV target shared by several entries is written once).</summary>
    public HashSet<DnsRecord> ExtrasWritten { get; } = new(ReferenceEqualityComparer.Instance);
}

/// <summary>
/// Answers one packet: parses it, looks the answer up (through the cache), orders it randomly, trims it to the
/// transport's limits as Consul does, and encodes it. Everything happens in the caller's <see cref="DnsSession"/>, so the
/// hot path allocates nothing once a question has been seen.
/// </summary>
internal sealed class DnsResponder(DnsAnswerCache cache, Func<DnsConfig> config, DnsCounters counters)
{
    /// <summary>Consul's ceiling on the answers of a UDP response to a client without EDNS, whatever udp_answer_limit says.</summary>
    private const int MaxUdpAnswers = 8;

    /// <summary>The largest UDP payload IPv4 can carry (65,535 less the IP and UDP headers): a bigger answer could not be sent.</summary>
    private const int MaxUdpPayload = 65_507;

    /// <summary>Handles <paramref name="packet"/>; on <see cref="DnsOutcome.Reply"/> the response is in the session's writer.</summary>
    public DnsOutcome Respond(ReadOnlySpan<byte> packet, DnsSession session, bool tcp)
    {
        var q = session.Query;
        var status = q.Parse(packet);
        var cfg = config();
        var w = session.Writer;
        w.Compress = !cfg.DisableCompression;
        switch (status)
        {
            case DnsParseStatus.Drop:
                counters.Malformed();
                return DnsOutcome.Drop;
            case DnsParseStatus.FormErr or DnsParseStatus.NotImp:
                counters.Rejected();
                // Echo only the header: the body could not be read, or is not something this server understands.
                w.Begin(q.Id, (ushort)(ResponseFlags(q, cfg, status == DnsParseStatus.FormErr ? DnsRcode.FormErr : DnsRcode.NotImp) |
                    (q.Flags & 0x7800)));
                return DnsOutcome.Reply;
            case DnsParseStatus.BadVersion:
                counters.Rejected();
                w.Begin(q.Id, ResponseFlags(q, cfg, DnsRcode.BadVers));
                w.Question(q.QuestionWire, q.Type, q.Class);
                w.Opt(q.UdpSize, DnsRcode.BadVers, false, null, 0);
                w.SetCounts(1, 0, 0, 1);
                return DnsOutcome.Reply;
        }
        counters.Query(tcp);
        var answer = cache.Get(cfg, q.Name, q.Type, q.HasOddLabel);
        if (answer.Recurse) return DnsOutcome.Recurse;
        Encode(session, answer, cfg, tcp);
        return DnsOutcome.Reply;
    }

    /// <summary>SERVFAIL for a query whose forwarding failed (all recursors down or timed out).</summary>
    public static void ServerFailure(DnsSession session, DnsConfig cfg)
    {
        var q = session.Query;
        var w = session.Writer;
        w.Begin(q.Id, ResponseFlags(q, cfg, DnsRcode.ServFail));
        w.Question(q.QuestionWire, q.Type, q.Class);
        w.SetCounts(1, 0, 0, 0);
    }

    private static ushort ResponseFlags(DnsQuery q, DnsConfig cfg, int rcode)
    {
        var flags = DnsFlags.Response | DnsFlags.Authoritative | (q.Flags & DnsFlags.RecursionDesired) | (rcode & 0xF);
        if (!cfg.Recursors.IsEmpty) flags |= DnsFlags.RecursionAvailable;
        return (ushort)flags;
    }

    private void Encode(DnsSession session, DnsAnswer answer, DnsConfig cfg, bool tcp)
    {
        var q = session.Query;
        var w = session.Writer;
        var entries = answer.Entries;
        if (session.Order.Length < entries.Length) session.Order = new int[Math.Max(entries.Length, session.Order.Length * 2)];
        var order = session.Order.AsSpan(0, entries.Length);
        for (var i = 0; i < order.Length; i++) order[i] = i;
        if (answer.Shuffle && order.Length - answer.Pinned > 1) Random.Shared.Shuffle(order[answer.Pinned..]);

        var count = entries.Length;
        // a_record_limit is a policy on every transport, not a cut for size: it never counts as truncation.
        if (answer.AddressLimited && cfg.ARecordLimit > 0) count = Math.Min(count, cfg.ARecordLimit);
        var wanted = count;
        var maxSize = tcp ? DnsLimits.MaxMessage : Math.Min(q.UdpSize, MaxUdpPayload);
        // Without EDNS a UDP answer is also cut to udp_answer_limit entries, as Consul does.
        if (!tcp && maxSize == DnsLimits.ClassicUdp) count = Math.Min(count, Math.Min(MaxUdpAnswers, cfg.UdpAnswerLimit));

        var authority = true;
        var extras = true;
        var size = Write(session, answer, order, count, authority, extras, cfg);
        if (size > maxSize || w.Overflowed)
        {
            // Too big: drop the authority section first, then find the most entries that fit by bisection.
            authority = false;
            int lo = 0, hi = count;
            while (lo < hi)
            {
                var mid = (lo + hi + 1) / 2;
                var s = Write(session, answer, order, mid, authority, extras, cfg);
                if (s <= maxSize && !w.Overflowed) lo = mid;
                else hi = mid - 1;
            }
            count = lo;
            if (count == 0 && entries.Length > 0)
            {
                // Not even one entry with its extras fits: send one without them, else none (and TC below).
                extras = false;
                count = Write(session, answer, order, 1, authority, extras, cfg) <= maxSize && !w.Overflowed ? 1 : 0;
            }
            Write(session, answer, order, count, authority, extras, cfg);
        }
        if (count < wanted)
        {
            counters.Truncated();
            // TC asks the client to retry over TCP; on TCP there is nothing further to retry on.
            if (!tcp && (cfg.EnableTruncate || count == 0)) w.SetFlags((ushort)(w.Flags | DnsFlags.Truncated));
        }
    }

    /// <summary>Writes the whole response with the first <paramref name="count"/> entries in <paramref name="order"/>; returns its size.</summary>
    private static int Write(DnsSession session, DnsAnswer answer, ReadOnlySpan<int> order, int count, bool authority, bool extras, DnsConfig cfg)
    {
        var q = session.Query;
        var w = session.Writer;
        var serial = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        w.Begin(q.Id, ResponseFlags(q, cfg, answer.Rcode));
        w.Question(q.QuestionWire, q.Type, q.Class);
        var question = q.QuestionWire;
        int an = 0, ns = 0, ar = 0;
        for (var i = 0; i < count; i++)
            foreach (var r in answer.Entries[order[i]].Answers)
            {
                w.Record(r, question, serial);
                an++;
            }
        if (authority)
            foreach (var r in answer.Authority)
            {
                w.Record(r, question, serial);
                ns++;
            }
        if (extras)
        {
            var written = session.ExtrasWritten;
            written.Clear();
            for (var i = 0; i < count; i++)
                foreach (var r in answer.Entries[order[i]].Extras)
                {
                    if (!written.Add(r)) continue;
                    w.Record(r, question, serial);
                    ar++;
                }
        }
        foreach (var r in answer.Additional)
        {
            w.Record(r, question, serial);
            ar++;
        }
        if (q.HasEdns)
        {
            // A client-subnet answer is valid for everyone (scope 0) unless it depended on the asker (prepared queries).
            var scope = answer.SourceSpecific && q.ClientSubnet is { } s ? s.SourcePrefix : (byte)0;
            w.Opt(q.UdpSize, answer.Rcode, false, q.ClientSubnet, scope);
            ar++;
        }
        w.SetCounts(1, an, ns, ar);
        return w.Length;
    }
}
