using Mesh.Agent.Dns.Wire;

namespace Mesh.Agent.Dns;

/// <summary>
/// One group of answer records that stays together when answers are shuffled or cut: an SRV record with the address
/// and TXT records of its target, or a CNAME with the records it resolves to.
/// </summary>
/// <param name="Answers">Records for the answer section.</param>
/// <param name="Extras">Records for the additional section that only matter while the answers are present.</param>
internal sealed record DnsEntry(DnsRecord[] Answers, DnsRecord[] Extras);

/// <summary>
/// What a question resolves to, independent of transport and of the random order each response gets: computed once per
/// state change and question, then encoded for every asker (shuffled, trimmed to the transport's limits).
/// </summary>
internal sealed class DnsAnswer
{
    /// <summary>Response code.</summary>
    public int Rcode { get; init; }

    /// <summary>Answer groups.</summary>
    public DnsEntry[] Entries { get; init; } = [];

    /// <summary>Authority records (the SOA of a negative answer, NS records of an SOA answer).</summary>
    public DnsRecord[] Authority { get; init; } = [];

    /// <summary>Additional records that do not belong to an entry (name server glue).</summary>
    public DnsRecord[] Additional { get; init; } = [];

    /// <summary>Whether each response orders the entries randomly.</summary>
    public bool Shuffle { get; init; }

    /// <summary>How many leading entries keep their place when shuffling (a prepared query's near node).</summary>
    public int Pinned { get; init; }

    /// <summary>Whether <c>a_record_limit</c> caps the entries (address answers about a service).</summary>
    public bool AddressLimited { get; init; }

    /// <summary>Whether the question leaves the domain and goes to the recursors instead.</summary>
    public bool Recurse { get; init; }

    /// <summary>Whether the answer depends on who asked (prepared queries): an EDNS client-subnet echo then keeps its scope.</summary>
    public bool SourceSpecific { get; init; }

    /// <summary>A bare response code: REFUSED, NOTIMP, SERVFAIL...</summary>
    public static DnsAnswer Code(int rcode) => new() { Rcode = rcode };

    /// <summary>Forward to the recursors.</summary>
    public static readonly DnsAnswer Forward = new() { Recurse = true };

    /// <summary>An empty NOERROR answer with no authority (what Consul answers a node query of a type it has no records for).</summary>
    public static readonly DnsAnswer Empty = new() { Rcode = DnsRcode.NoError };
}
