using System.Net;
using System.Text;
using Mesh.Sidecar.Config;
using Mesh.Sidecar.Observability;

namespace Mesh.Sidecar.Upstreams;

/// <summary>
/// Counters of one endpoint that outlive configuration updates: a new runtime of the same cluster takes over the
/// instance of every endpoint whose address it still has, so leases taken before the update keep counting on it.
/// </summary>
internal sealed class EndpointState(IPEndPoint address)
{
    /// <summary>The endpoint's address (the carry-over key).</summary>
    public IPEndPoint Address { get; } = address;

    /// <summary>Requests or connections in flight (leases not yet disposed).</summary>
    public int ActiveRequests;

    /// <summary>Failures reported since the last success.</summary>
    public int ConsecutiveFailures;

    /// <summary>Timestamp (<see cref="TimeProvider.GetTimestamp"/>) until which the endpoint is ejected; 0: never ejected.</summary>
    public long EjectedUntil;

    /// <summary>How often the endpoint was ejected; each ejection lasts the base time times this.</summary>
    public int Ejections;
}

/// <summary>Cluster-wide counters that outlive configuration updates, as <see cref="EndpointState"/> does per endpoint.</summary>
internal sealed class ClusterCounters
{
    /// <summary>Requests or connections in flight across the cluster (circuit breaker).</summary>
    public int ActiveRequests;
}

/// <summary>A serving endpoint with its counters.</summary>
internal sealed record Member(EndpointConfig Config, EndpointState State)
{
    /// <summary>The endpoint's weight, at least 1.</summary>
    public int Weight { get; } = Math.Max(1, Config.Weight);
}

/// <summary>The serving endpoints of one priority level, with the load balancer's precomputed tables.</summary>
internal sealed class PriorityLevel
{
    private const int PointsPerWeight = 128;
    private const int MaxRingSize = 1 << 20;
    private const int MaxScheduleLength = 1 << 16;

    /// <summary>Maglev's lookup table size: a prime, Envoy's default.</summary>
    internal const int MaglevTableSize = 65537;

    /// <summary>Position in <see cref="Schedule"/>; advanced with interlocked increments, never locked.</summary>
    public long Cursor;

    public PriorityLevel(int priority, Member[] members, LbPolicy policy)
    {
        Priority = priority;
        Members = members;
        foreach (var member in members) TotalWeight += member.Weight;
        Schedule = policy == LbPolicy.RoundRobin ? BuildSchedule(members) : [];
        Ring = policy == LbPolicy.RingHash ? BuildRing(members) : [];
        Maglev = policy == LbPolicy.Maglev ? BuildMaglev(members) : [];
    }

    /// <summary>The EDS priority (0 is the most preferred).</summary>
    public int Priority { get; }

    /// <summary>The serving members (degraded ones only when the level has no others).</summary>
    public Member[] Members { get; }

    /// <summary>Sum of the members' weights.</summary>
    public int TotalWeight { get; }

    /// <summary>
    /// Smooth weighted round robin (as nginx interleaves it) unrolled into one cycle of member indices, so a pick is
    /// an interlocked increment and an array read: weights 5,1,1 give a a b a c a a rather than a a a a a b c.
    /// </summary>
    public int[] Schedule { get; }

    /// <summary>The consistent-hash ring: hashes in ascending order with the member index of each point.</summary>
    public (ulong Hash, int Member)[] Ring { get; }

    /// <summary>Maglev's lookup table of member indices.</summary>
    public int[] Maglev { get; }

    private static int[] BuildSchedule(Member[] members)
    {
        if (members.Length == 0) return [];
        var weights = new long[members.Length];
        long gcd = 0, total = 0;
        for (var i = 0; i < members.Length; i++)
        {
            weights[i] = members[i].Weight;
            gcd = Gcd(gcd, weights[i]);
        }

        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] /= gcd;
            total += weights[i];
        }

        if (total > MaxScheduleLength)
        {
            // Scale down rather than allocate a huge cycle; proportions stay within a rounding step.
            var scale = (double)MaxScheduleLength / total;
            total = 0;
            for (var i = 0; i < weights.Length; i++)
            {
                weights[i] = Math.Max(1, (long)(weights[i] * scale));
                total += weights[i];
            }
        }

        var schedule = new int[total];
        var current = new long[weights.Length];
        for (var slot = 0; slot < schedule.Length; slot++)
        {
            var best = 0;
            for (var i = 0; i < weights.Length; i++)
            {
                current[i] += weights[i];
                if (current[i] > current[best]) best = i;
            }

            current[best] -= total;
            schedule[slot] = best;
        }

        return schedule;
    }

    private static (ulong, int)[] BuildRing(Member[] members)
    {
        if (members.Length == 0) return [];
        // A fixed number of points per unit of weight, so that one endpoint joining or leaving moves only the
        // keys on its own points; scaled down only for very large clusters, to bound the ring.
        var total = 0L;
        foreach (var member in members) total += member.Weight;
        var scale = total * PointsPerWeight > MaxRingSize ? (double)MaxRingSize / total : PointsPerWeight;
        var ring = new List<(ulong, int)>();
        for (var i = 0; i < members.Length; i++)
        {
            var points = (int)Math.Ceiling(members[i].Weight * scale);
            var key = members[i].Config.Address.ToString();
            for (var p = 0; p < points; p++) ring.Add((Hashing.Hash($"{key}_{p}"), i));
        }

        ring.Sort(static (a, b) => a.Item1.CompareTo(b.Item1));
        return [.. ring];
    }

    private static int[] BuildMaglev(Member[] members)
    {
        if (members.Length == 0) return [];
        const int m = MaglevTableSize;
        var table = new int[m];
        Array.Fill(table, -1);
        var offsets = new long[members.Length];
        var skips = new long[members.Length];
        var next = new long[members.Length];
        var credit = new double[members.Length];
        var maxWeight = 0;
        for (var i = 0; i < members.Length; i++)
        {
            var key = members[i].Config.Address.ToString();
            offsets[i] = (long)(Hashing.Hash(key) % m);
            skips[i] = (long)(Hashing.Hash(key + "#skip") % (m - 1)) + 1;
            maxWeight = Math.Max(maxWeight, members[i].Weight);
        }

        var filled = 0;
        while (filled < m)
        {
            for (var i = 0; i < members.Length && filled < m; i++)
            {
                // Weighted Maglev: a member takes a turn in proportion to its weight relative to the heaviest.
                credit[i] += (double)members[i].Weight / maxWeight;
                if (credit[i] < 1) continue;
                credit[i] -= 1;
                long slot;
                do
                {
                    slot = (offsets[i] + next[i] * skips[i]) % m;
                    next[i]++;
                }
                while (table[slot] >= 0);
                table[slot] = i;
                filled++;
            }
        }

        return table;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}

/// <summary>One cluster's endpoints and balancing state for one configuration of it.</summary>
internal sealed class ClusterRuntime
{
    /// <summary>Envoy's default thresholds when the cluster sets no circuit breaker.</summary>
    private const int DefaultMaxRequests = 1024;

    private static readonly TimeSpan MaxEjectionTime = TimeSpan.FromSeconds(300);

    public ClusterRuntime(ClusterConfig config, ClusterLoadAssignmentConfig? assignment, ClusterRuntime? previous, SidecarMetrics metrics)
    {
        Config = config;
        Assignment = assignment;
        Counters = previous?.Counters ?? new ClusterCounters();
        var carried = new Dictionary<IPEndPoint, EndpointState>();
        if (previous is not null)
        {
            foreach (var state in previous.All) carried[state.Address] = state;
        }

        var endpoints = config.Kind == ClusterKind.Static ? config.StaticEndpoints : assignment?.Endpoints ?? [];
        if (endpoints.IsDefault) endpoints = [];
        var all = new List<EndpointState>(endpoints.Length);
        var byPriority = new SortedDictionary<int, (List<Member> Healthy, List<Member> Degraded)>();
        foreach (var endpoint in endpoints)
        {
            if (!carried.TryGetValue(endpoint.Address, out var state))
            {
                state = new EndpointState(endpoint.Address);
                carried[endpoint.Address] = state;
            }

            all.Add(state);
            if (!endpoint.IsServing) continue;
            if (!byPriority.TryGetValue(endpoint.Priority, out var lists))
            {
                lists = ([], []);
                byPriority[endpoint.Priority] = lists;
            }

            (endpoint.Health == EndpointHealth.Degraded ? lists.Degraded : lists.Healthy).Add(new Member(endpoint, state));
        }

        var levels = new List<PriorityLevel>(byPriority.Count);
        foreach (var (priority, lists) in byPriority)
        {
            var members = lists.Healthy.Count > 0 ? lists.Healthy : lists.Degraded;
            levels.Add(new PriorityLevel(priority, [.. members], config.LbPolicy));
        }

        Levels = [.. levels];
        All = [.. all];
        MaxRequests = config.CircuitBreakers?.MaxRequests is > 0 and var max ? max : DefaultMaxRequests;
        Overflow = metrics.UpstreamOverflow.With(config.Name);
        Ejected = metrics.OutlierEjections.With(config.Name);
        ConnectFailures = metrics.UpstreamConnectFailures.With(config.Name);
        Connections = metrics.UpstreamConnections.With(config.Name);
    }

    public ClusterConfig Config { get; }

    /// <summary>The cluster-wide counters, shared with the runtimes before and after this one.</summary>
    public ClusterCounters Counters { get; }
    public ClusterLoadAssignmentConfig? Assignment { get; }

    /// <summary>Priority levels that have serving endpoints, most preferred first.</summary>
    public PriorityLevel[] Levels { get; }

    /// <summary>Every endpoint (serving or not), for the ejection percentage.</summary>
    public EndpointState[] All { get; }

    public int MaxRequests { get; }
    public Counter Overflow { get; }
    public Counter Ejected { get; }
    public Counter ConnectFailures { get; }
    public Counter Connections { get; }

    /// <summary>
    /// Ejects <paramref name="state"/> for the base ejection time times the number of its ejections (at most
    /// 300 s, Envoy's default), unless that would put more than the allowed percentage of the cluster out; as in
    /// Envoy, one endpoint may always be ejected when none is.
    /// </summary>
    /// <returns>True when the endpoint was ejected now.</returns>
    public bool TryEject(EndpointState state, OutlierDetectionConfig outlier, TimeProvider time)
    {
        if (outlier.MaxEjectionPercent <= 0) return false;
        var now = time.GetTimestamp();
        if (Volatile.Read(ref state.EjectedUntil) > now) return false;
        var ejected = 0;
        foreach (var other in All)
        {
            if (Volatile.Read(ref other.EjectedUntil) > now) ejected++;
        }

        if (ejected > 0 && (ejected + 1) * 100L > (long)outlier.MaxEjectionPercent * All.Length) return false;
        var times = Interlocked.Increment(ref state.Ejections);
        var duration = outlier.BaseEjectionTime * times;
        if (duration > MaxEjectionTime) duration = outlier.BaseEjectionTime > MaxEjectionTime ? outlier.BaseEjectionTime : MaxEjectionTime;
        Volatile.Write(ref state.EjectedUntil, now + (long)(duration.TotalSeconds * time.TimestampFrequency));
        Volatile.Write(ref state.ConsecutiveFailures, 0);
        Ejected.Inc();
        return true;
    }
}

/// <summary>A stable 64-bit hash for ring points (FNV-1a, then a finaliser so nearby keys spread over the ring).</summary>
internal static class Hashing
{
    /// <summary>Hashes <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static ulong Hash(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }

        return Mix(hash);
    }

    /// <summary>SplitMix64's finaliser: spreads a hash's entropy over all bits.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
