using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Mesh.Agent.Telemetry;

/// <summary>
/// The agent's metrics, served by <c>/v1/agent/metrics</c> in Consul's JSON shape (<c>Gauges</c>, <c>Counters</c>,
/// <c>Samples</c>) and in Prometheus text format. Values accumulate from the agent's start; the JSON <c>Rate</c> is
/// per second over that time. Recording is lock-free on the hot path (one dictionary lookup, atomic adds).
/// </summary>
public sealed class Metrics
{
    /// <summary>Prefix of every metric name.</summary>
    public const string Prefix = "mesh";

    private readonly ConcurrentDictionary<Key, Summary> _counters = new();
    private readonly ConcurrentDictionary<Key, Summary> _samples = new();
    private readonly ConcurrentDictionary<string, Func<double>> _gauges = new(StringComparer.Ordinal);
    private readonly DateTime _start = DateTime.UtcNow;

    /// <summary>Adds <paramref name="value"/> to a counter.</summary>
    public void Count(string name, double value = 1, string? labelName = null, string? labelValue = null) =>
        _counters.GetOrAdd(new Key(name, labelName, labelValue), static _ => new Summary()).Add(value);

    /// <summary>Records one observation (a duration in milliseconds, a size...).</summary>
    public void Sample(string name, double value, string? labelName = null, string? labelValue = null) =>
        _samples.GetOrAdd(new Key(name, labelName, labelValue), static _ => new Summary()).Add(value);

    /// <summary>Registers a gauge read when metrics are served.</summary>
    public void Gauge(string name, Func<double> read) => _gauges[name] = read;

    /// <summary>Writes Consul's JSON shape.</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        var now = DateTime.UtcNow;
        var seconds = Math.Max((now - _start).TotalSeconds, 0.001);
        w.WriteStartObject();
        w.WriteString("Timestamp", now.ToString("yyyy-MM-dd HH:mm:ss +0000 UTC", CultureInfo.InvariantCulture));
        w.WriteStartArray("Gauges");
        foreach (var (name, read) in _gauges.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("Name", $"{Prefix}.{name}");
            w.WriteNumber("Value", Safe(read));
            w.WriteStartObject("Labels"); w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("Points"); w.WriteEndArray();
        WriteSummaries(w, "Counters", _counters, seconds);
        WriteSummaries(w, "Samples", _samples, seconds);
        w.WriteEndObject();
    }

    private static void WriteSummaries(Utf8JsonWriter w, string title, ConcurrentDictionary<Key, Summary> map, double seconds)
    {
        w.WriteStartArray(title);
        foreach (var (key, s) in map.OrderBy(m => m.Key.Name, StringComparer.Ordinal).ThenBy(m => m.Key.LabelValue, StringComparer.Ordinal))
        {
            var (count, sum, min, max, sumSq) = s.Read();
            var mean = count == 0 ? 0 : sum / count;
            w.WriteStartObject();
            w.WriteString("Name", $"{Prefix}.{key.Name}");
            w.WriteNumber("Count", count);
            w.WriteNumber("Rate", sum / seconds);
            w.WriteNumber("Sum", sum);
            w.WriteNumber("Min", min);
            w.WriteNumber("Max", max);
            w.WriteNumber("Mean", mean);
            w.WriteNumber("Stddev", count < 2 ? 0 : Math.Sqrt(Math.Max(0, (sumSq - sum * sum / count) / (count - 1))));
            w.WriteStartObject("Labels");
            if (key.LabelName is not null) w.WriteString(key.LabelName, key.LabelValue);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Writes the Prometheus text exposition format (version 0.0.4).</summary>
    public string ToPrometheus()
    {
        var sb = new StringBuilder();
        foreach (var (name, read) in _gauges.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var n = PromName(name);
            sb.Append("# HELP ").Append(n).Append(' ').Append(n).Append('\n');
            sb.Append("# TYPE ").Append(n).Append(" gauge\n");
            sb.Append(n).Append(' ').Append(Num(Safe(read))).Append('\n');
        }
        foreach (var group in _counters.GroupBy(c => c.Key.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var n = PromName(group.Key) + "_total";
            sb.Append("# HELP ").Append(n).Append(' ').Append(n).Append('\n');
            sb.Append("# TYPE ").Append(n).Append(" counter\n");
            foreach (var (key, s) in group) sb.Append(n).Append(Labels(key)).Append(' ').Append(Num(s.Read().Sum)).Append('\n');
        }
        foreach (var group in _samples.GroupBy(c => c.Key.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var n = PromName(group.Key);
            sb.Append("# HELP ").Append(n).Append(' ').Append(n).Append('\n');
            sb.Append("# TYPE ").Append(n).Append(" summary\n");
            foreach (var (key, s) in group)
            {
                var r = s.Read();
                sb.Append(n).Append("_sum").Append(Labels(key)).Append(' ').Append(Num(r.Sum)).Append('\n');
                sb.Append(n).Append("_count").Append(Labels(key)).Append(' ').Append(r.Count).Append('\n');
            }
        }
        return sb.ToString();
    }

    private static double Safe(Func<double> read)
    {
        try { return read(); }
        catch (Exception) { return double.NaN; }
    }

    private static string PromName(string name)
    {
        var sb = new StringBuilder(Prefix.Length + 1 + name.Length).Append(Prefix).Append('_');
        foreach (var ch in name) sb.Append(char.IsAsciiLetterOrDigit(ch) ? ch : '_');
        return sb.ToString();
    }

    private static string Labels(Key key) => key.LabelName is null ? "" :
        $"{{{key.LabelName}=\"{key.LabelValue?.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n")}\"}}";

    private static string Num(double d) => double.IsNaN(d) ? "NaN" : d.ToString("R", CultureInfo.InvariantCulture);

    private readonly record struct Key(string Name, string? LabelName, string? LabelValue);

    private sealed class Summary
    {
        private readonly object _gate = new();
        private long _count;
        private double _sum, _min = double.PositiveInfinity, _max = double.NegativeInfinity, _sumSq;

        public void Add(double v)
        {
            lock (_gate)
            {
                _count++; _sum += v; _sumSq += v * v;
                if (v < _min) _min = v;
                if (v > _max) _max = v;
            }
        }

        public (long Count, double Sum, double Min, double Max, double SumSq) Read()
        {
            lock (_gate) return (_count, _sum, _count == 0 ? 0 : _min, _count == 0 ? 0 : _max, _sumSq);
        }
    }
}
