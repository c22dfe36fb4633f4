using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Mesh.Sidecar.Observability;

/// <summary>
/// A small Prometheus registry: counter, gauge and histogram families with label values, written in the text
/// exposition format (version 0.0.4). Children are found once per label set and then updated with interlocked
/// operations, so the forwarding path never locks; hot callers keep the child they use.
/// </summary>
internal sealed class MetricRegistry
{
    private readonly ConcurrentDictionary<string, MetricFamily> _families = new(StringComparer.Ordinal);

    /// <summary>A counter family (monotonic).</summary>
    public MetricFamily<Counter> Counter(string name, string help, params string[] labels) =>
        Get(name, () => new MetricFamily<Counter>(name, help, "counter", labels, () => new Counter()));

    /// <summary>A gauge family (goes up and down).</summary>
    public MetricFamily<Gauge> Gauge(string name, string help, params string[] labels) =>
        Get(name, () => new MetricFamily<Gauge>(name, help, "gauge", labels, () => new Gauge()));

    /// <summary>A histogram family with the given upper bounds (seconds for latencies).</summary>
    public MetricFamily<Histogram> Histogram(string name, string help, double[] bounds, params string[] labels) =>
        Get(name, () => new MetricFamily<Histogram>(name, help, "histogram", labels, () => new Histogram(bounds)));

    /// <summary>Writes every family, sorted by name, in the text exposition format.</summary>
    public void WriteTo(StringBuilder output)
    {
        foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            family.WriteTo(output);
        }
    }

    private T Get<T>(string name, Func<T> create) where T : MetricFamily
    {
        var family = _families.GetOrAdd(name, _ => create());
        return family as T ?? throw new InvalidOperationException($"metric {name} is already registered as a {family.Type}");
    }
}

/// <summary>A named metric with its label names.</summary>
internal abstract class MetricFamily(string name, string help, string type, string[] labels)
{
    /// <summary>The metric name.</summary>
    public string Name { get; } = name;

    /// <summary>The Prometheus type.</summary>
    public string Type { get; } = type;

    protected string[] Labels { get; } = labels;

    /// <summary>Writes the family's HELP, TYPE and samples.</summary>
    public void WriteTo(StringBuilder output)
    {
        output.Append("# HELP ").Append(Name).Append(' ').Append(help).Append('\n');
        output.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
        WriteSamples(output);
    }

    protected abstract void WriteSamples(StringBuilder output);

    /// <summary>Formats <c>{a="x",b="y"}</c> with Prometheus escaping; empty without labels.</summary>
    protected string LabelText(string[] values, string? extraName = null, string? extraValue = null)
    {
        if (Labels.Length == 0 && extraName is null) return string.Empty;
        var text = new StringBuilder("{");
        for (var i = 0; i < Labels.Length; i++)
        {
            if (i > 0) text.Append(',');
            text.Append(Labels[i]).Append("=\"");
            Escape(text, values[i]);
            text.Append('"');
        }

        if (extraName is not null)
        {
            if (Labels.Length > 0) text.Append(',');
            text.Append(extraName).Append("=\"").Append(extraValue).Append('"');
        }

        return text.Append('}').ToString();
    }

    private static void Escape(StringBuilder text, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': text.Append("\\\\"); break;
                case '"': text.Append("\\\""); break;
                case '\n': text.Append("\\n"); break;
                default: text.Append(c); break;
            }
        }
    }

    protected static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A family whose children are keyed by label values.</summary>
internal sealed class MetricFamily<T>(string name, string help, string type, string[] labels, Func<T> create)
    : MetricFamily(name, help, type, labels) where T : IMetric
{
    private readonly ConcurrentDictionary<string, (string[] Values, T Metric)> _children = new(StringComparer.Ordinal);

    /// <summary>The child for these label values (in the family's label order).</summary>
    public T With(params string[] values)
    {
        if (values.Length != Labels.Length)
        {
            throw new ArgumentException($"metric {Name} takes {Labels.Length} label values, got {values.Length}", nameof(values));
        }

        var key = values.Length == 1 ? values[0] : string.Join('\u0001', values);
        return _children.GetOrAdd(key, static (_, state) => (state.values, state.create()), (values, create)).Metric;
    }

    protected override void WriteSamples(StringBuilder output)
    {
        foreach (var (values, metric) in _children.Values.OrderBy(c => string.Join('\u0001', c.Values), StringComparer.Ordinal))
        {
            metric.WriteSamples(output, Name, values, this);
        }
    }

    internal string Labelled(string[] values, string? extraName = null, string? extraValue = null) => LabelText(values, extraName, extraValue);
}

/// <summary>One time series (or a histogram's series).</summary>
internal interface IMetric
{
    /// <summary>Writes this child's samples.</summary>
    void WriteSamples<T>(StringBuilder output, string name, string[] values, MetricFamily<T> family) where T : IMetric;
}

/// <summary>A monotonic count.</summary>
internal sealed class Counter : IMetric
{
    private long _value;

    /// <summary>The current count.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Adds <paramref name="amount"/> (not negative).</summary>
    public void Inc(long amount = 1) => Interlocked.Add(ref _value, amount);

    public void WriteSamples<T>(StringBuilder output, string name, string[] values, MetricFamily<T> family) where T : IMetric =>
        output.Append(name).Append(family.Labelled(values)).Append(' ').Append(Value).Append('\n');
}

/// <summary>A value that goes up and down.</summary>
internal sealed class Gauge : IMetric
{
    private long _value;

    /// <summary>The current value.</summary>
    public long Value => Interlocked.Read(ref _value);

    /// <summary>Adds one.</summary>
    public void Inc() => Interlocked.Increment(ref _value);

    /// <summary>Subtracts one.</summary>
    public void Dec() => Interlocked.Decrement(ref _value);

    /// <summary>Sets the value.</summary>
    public void Set(long value) => Interlocked.Exchange(ref _value, value);

    public void WriteSamples<T>(StringBuilder output, string name, string[] values, MetricFamily<T> family) where T : IMetric =>
        output.Append(name).Append(family.Labelled(values)).Append(' ').Append(Value).Append('\n');
}

/// <summary>A cumulative histogram over fixed bounds, with sum and count.</summary>
internal sealed class Histogram : IMetric
{
    private readonly double[] _bounds;
    private readonly long[] _counts;
    private long _count;
    private long _sumMicros;

    public Histogram(double[] bounds)
    {
        _bounds = bounds;
        _counts = new long[bounds.Length];
    }

    /// <summary>Observations so far.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Records one observation (seconds for latencies).</summary>
    public void Observe(double value)
    {
        var i = Array.BinarySearch(_bounds, value);
        if (i < 0) i = ~i;
        if (i < _counts.Length) Interlocked.Increment(ref _counts[i]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumMicros, (long)(value * 1_000_000));
    }

    public void WriteSamples<T>(StringBuilder output, string name, string[] values, MetricFamily<T> family) where T : IMetric
    {
        long cumulative = 0;
        for (var i = 0; i < _bounds.Length; i++)
        {
            cumulative += Interlocked.Read(ref _counts[i]);
            output.Append(name).Append("_bucket").Append(family.Labelled(values, "le", Format(_bounds[i]))).Append(' ').Append(cumulative).Append('\n');
        }

        var count = Count;
        output.Append(name).Append("_bucket").Append(family.Labelled(values, "le", "+Inf")).Append(' ').Append(count).Append('\n');
        output.Append(name).Append("_sum").Append(family.Labelled(values)).Append(' ').Append(Format(Interlocked.Read(ref _sumMicros) / 1_000_000.0)).Append('\n');
        output.Append(name).Append("_count").Append(family.Labelled(values)).Append(' ').Append(count).Append('\n');
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
