using System.Runtime.CompilerServices;
using Mesh.Sidecar.Config;

namespace Mesh.Sidecar.Upstreams;

/// <summary>
/// Picks from a <see cref="WeightedClusterSet"/> exactly in proportion over time: each set instance gets a
/// precomputed smooth weighted round-robin sequence (weights reduced by their common divisor) walked by an atomic
/// counter, so 80/20 over 2,000 picks is 1,600/400 and the two choices interleave instead of arriving in runs. A new
/// set instance (an RDS or LDS update) starts a new sequence.
/// </summary>
internal static class WeightedPicker
{
    private static readonly ConditionalWeakTable<WeightedClusterSet, Sequence> Sequences = new();

    /// <summary>The longest pick order kept per weighted set.</summary>
    private const int MaxOrder = 10_000;

    /// <summary>The next cluster of <paramref name="set"/>.</summary>
    public static WeightedClusterConfig Pick(WeightedClusterSet set)
    {
        var sequence = Sequences.GetValue(set, static s => new Sequence(s));
        return sequence.Next();
    }

    /// <summary>The order of picks for one set; exposed for tests.</summary>
    internal static int[] BuildOrder(IReadOnlyList<int> weights)
    {
        var divisor = 0;
        foreach (var w in weights) divisor = Gcd(divisor, Math.Max(w, 0));
        if (divisor == 0) return [];
        var reduced = new int[weights.Count];
        long sum = 0;
        for (var i = 0; i < reduced.Length; i++)
        {
            reduced[i] = Math.Max(weights[i], 0) / divisor;
            sum += reduced[i];
        }

        if (sum > MaxOrder)
        {
            // Weights from xDS may sum to anything up to uint32; scale them onto 10,000 steps (Consul's own
            // resolution, 0.01 %) so the order stays small, keeping every non-zero weight non-zero.
            for (var i = 0; i < reduced.Length; i++)
            {
                if (reduced[i] > 0) reduced[i] = (int)Math.Max(1, reduced[i] * (long)MaxOrder / sum);
            }
        }

        var total = 0;
        foreach (var r in reduced) total += r;

        // Nginx's smooth weighted round robin: each step every choice gains its weight, the largest current value
        // wins and gives back the total. Over `total` steps each choice wins exactly its weight times.
        var order = new int[total];
        var current = new long[reduced.Length];
        for (var step = 0; step < total; step++)
        {
            var best = -1;
            for (var i = 0; i < reduced.Length; i++)
            {
                current[i] += reduced[i];
                if (reduced[i] > 0 && (best < 0 || current[i] > current[best])) best = i;
            }

            current[best] -= total;
            order[step] = best;
        }

        return order;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    private sealed class Sequence
    {
        private readonly WeightedClusterConfig[] _picks;
        private long _position = -1;

        public Sequence(WeightedClusterSet set)
        {
            var weights = new int[set.Clusters.Length];
            for (var i = 0; i < weights.Length; i++) weights[i] = set.Clusters[i].Weight;
            var order = BuildOrder(weights);
            // A set whose weights are all zero cannot come out of the translator (TotalWeight > 0); the first
            // cluster keeps such a set usable rather than failing the request.
            _picks = order.Length == 0 ? [set.Clusters[0]] : Array.ConvertAll(order, i => set.Clusters[i]);
        }

        public WeightedClusterConfig Next()
        {
            var position = (ulong)Interlocked.Increment(ref _position);
            return _picks[(int)(position % (ulong)_picks.Length)];
        }
    }
}
