using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Mesh.Benchmarks;

internal enum TargetKind { AtLeast, AtMost, Below }

/// <summary>A published goal for one figure; missing it is reported, never fatal.</summary>
internal sealed record Target(TargetKind Kind, double Value)
{
    public bool IsMetBy(double value) => Kind switch
    {
        TargetKind.AtLeast => value >= Value,
        TargetKind.AtMost => value <= Value,
        _ => value < Value,
    };

    public string Describe(string unit) =>
        $"{Kind switch { TargetKind.AtLeast => ">=", TargetKind.AtMost => "<=", _ => "<" }} {Value.ToString("#,0.###", CultureInfo.InvariantCulture)} {unit}".TrimEnd();
}

/// <summary>
/// One measured number. <see cref="Key"/> names it in the JSON line; a value of <see cref="double.NaN"/> means "not
/// measured" and infinity means "never happened" (a watcher that did not answer has no finite latency).
/// </summary>
internal sealed record Figure(string Label, string Key, double Value, string Unit, Target? Target = null)
{
    public string? Status => Target is null ? null : double.IsNaN(Value) ? "not measured" : Target.IsMetBy(Value) ? "met" : "MISSED";

    public static string Format(double value, string unit)
    {
        if (double.IsNaN(value)) return "n/a";
        if (double.IsPositiveInfinity(value)) return "never";
        return unit switch
        {
            "ms" => value < 10 ? value.ToString("0.00", CultureInfo.InvariantCulture) : value.ToString("#,0.0", CultureInfo.InvariantCulture),
            "s" or "x" => value.ToString("0.00", CultureInfo.InvariantCulture),
            "MB" => value.ToString("#,0.0", CultureInfo.InvariantCulture),
            _ => value.ToString("#,0", CultureInfo.InvariantCulture),
        };
    }
}

/// <summary>What one scenario measured, plus notes that qualify it (errors seen, how parking was verified...).</summary>
internal sealed record ScenarioResult(string Name, IReadOnlyList<Figure> Figures, IReadOnlyList<string> Notes, string? Error = null)
{
    public static ScenarioResult Failed(string name, string error) => new(name, [], [], error);
}

/// <summary>Renders the run as a table for people and as one JSON line for scripts that track figures over time.</summary>
internal static class Report
{
    public static void WriteTable(TextWriter output, IReadOnlyList<ScenarioResult> results)
    {
        var rows = new List<string[]> { new[] { "scenario", "figure", "value", "unit", "target", "" } };
        foreach (var result in results)
        {
            if (result.Error is not null) rows.Add([result.Name, "ERROR", "", "", "", ""]);
            foreach (var f in result.Figures)
                rows.Add([result.Name, f.Label, Figure.Format(f.Value, f.Unit), f.Unit, f.Target?.Describe(f.Unit) ?? "", f.Status ?? ""]);
        }

        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        output.WriteLine();
        foreach (var (row, i) in rows.Select((r, i) => (r, i)))
        {
            var line = new StringBuilder();
            for (var c = 0; c < row.Length; c++)
            {
                // Numbers read best right-aligned; everything else left-aligned.
                line.Append(c == 2 ? row[c].PadLeft(widths[c]) : row[c].PadRight(widths[c])).Append("  ");
            }
            output.WriteLine(line.ToString().TrimEnd());
            if (i == 0) output.WriteLine(new string('-', widths.Sum() + 2 * (widths.Length - 1)));
        }

        foreach (var result in results)
        {
            if (result.Error is not null) output.WriteLine($"{result.Name}: error: {result.Error}");
            foreach (var note in result.Notes) output.WriteLine($"{result.Name}: {note}");
        }
        output.WriteLine();
    }

    public static string JsonLine(MachineConditions machine, BenchOptions options, IReadOnlyList<ScenarioResult> results)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps ">=" and "+" readable; the line is printed to a terminal, never embedded in HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("benchmark", "mesh");
            json.WriteString("time", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));

            json.WriteStartObject("machine");
            json.WriteNumber("cores", machine.Cores);
            json.WriteString("cpu", machine.CpuModel);
            json.WriteNumber("memory_mb", machine.MemoryBytes / (1024 * 1024));
            json.WriteString("dotnet", machine.Runtime);
            json.WriteString("os", machine.Os);
            json.WriteString("wrk", machine.WrkVersion);
            json.WriteString("load_before", machine.LoadBefore);
            json.WriteString("load_after", machine.LoadAfter);
            json.WriteEndObject();

            json.WriteStartObject("options");
            json.WriteNumber("duration_s", options.Duration.TotalSeconds);
            json.WriteNumber("warmup_s", options.Warmup.TotalSeconds);
            json.WriteNumber("watchers", options.Watchers);
            json.WriteNumber("rounds", options.Rounds);
            json.WriteEndObject();

            json.WriteStartObject("scenarios");
            foreach (var result in results)
            {
                json.WriteStartObject(result.Name);
                if (result.Error is not null) json.WriteString("error", result.Error);
                foreach (var f in result.Figures)
                {
                    // JSON has no NaN or infinity: both become null, and the table says which it was.
                    if (double.IsFinite(f.Value)) json.WriteNumber(f.Key, Math.Round(f.Value, 3));
                    else json.WriteNull(f.Key);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();

            json.WriteStartArray("targets");
            foreach (var result in results)
            {
                foreach (var f in result.Figures.Where(f => f.Target is not null))
                {
                    json.WriteStartObject();
                    json.WriteString("figure", $"{result.Name}.{f.Key}");
                    json.WriteString("target", f.Target!.Describe(f.Unit));
                    json.WriteString("status", f.Status);
                    json.WriteEndObject();
                }
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
