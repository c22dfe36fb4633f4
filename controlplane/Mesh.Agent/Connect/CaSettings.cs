using Mesh.State.Text;
using System.Globalization;
using System.Text.Json;
using Mesh.Agent.Config;
using Mesh.Ca.Keys;

namespace Mesh.Agent.Connect;

/// <summary>
/// The CA configuration's <c>Config</c> map, parsed and checked: TTLs, key type and size, and the signing limits.
/// Defaults and bounds are Consul's. Keys are read in Consul's API spelling (<c>LeafCertTTL</c>) or its config-file
/// spelling (<c>leaf_cert_ttl</c>), and numbers may come as strings, as Consul's decoder allows.
/// </summary>
public sealed record CaSettings
{
    /// <summary>Lifetime of leaf certificates (1h to 1 year).</summary>
    public TimeSpan LeafCertTtl { get; init; } = TimeSpan.FromHours(72);

    /// <summary>Lifetime of a root the built-in CA makes.</summary>
    public TimeSpan RootCertTtl { get; init; } = TimeSpan.FromHours(87600);

    /// <summary>Lifetime of an intermediate (at least three leaf lifetimes).</summary>
    public TimeSpan IntermediateCertTtl { get; init; } = TimeSpan.FromHours(8760);

    /// <summary>How often a root should be rotated (reported; rotation happens when the configuration changes).</summary>
    public TimeSpan RotationPeriod { get; init; } = TimeSpan.FromHours(2160);

    /// <summary>Key type and size of the CA's keys.</summary>
    public CaKeySpec Key { get; init; } = CaKeySpec.Default;

    /// <summary>Most CSRs signed per second by this server; 0 is unlimited.</summary>
    public double CsrMaxPerSecond { get; init; } = 50;

    /// <summary>Most CSRs signed at once; 0 is no limit (the per-second limit applies instead).</summary>
    public int CsrMaxConcurrent { get; init; }

    /// <summary>Reads a <c>Config</c> object on top of the defaults.</summary>
    /// <exception cref="ConfigException">A value is malformed or out of bounds; the message names it.</exception>
    public static CaSettings Parse(JsonElement config)
    {
        if (config.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return new CaSettings();
        if (config.ValueKind != JsonValueKind.Object) throw new ConfigException("CA Config must be an object");
        var s = new CaSettings();
        string? type = null;
        int? bits = null;
        foreach (var p in config.EnumerateObject())
        {
            switch (p.Name.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant())
            {
                case "leafcertttl": s = s with { LeafCertTtl = Duration(p) }; break;
                case "rootcertttl": s = s with { RootCertTtl = Duration(p) }; break;
                case "intermediatecertttl": s = s with { IntermediateCertTtl = Duration(p) }; break;
                case "rotationperiod": s = s with { RotationPeriod = Duration(p) }; break;
                case "privatekeytype": type = Text(p); break;
                case "privatekeybits": bits = (int)Number(p); break;
                case "csrmaxpersecond": s = s with { CsrMaxPerSecond = Number(p) }; break;
                case "csrmaxconcurrent": s = s with { CsrMaxConcurrent = (int)Number(p) }; break;
                // Keys Consul's built-in provider reads to import an existing CA: not supported, and silently ignoring
                // them would mint a different root than the one asked for.
                case "privatekey" or "rootcert":
                    throw new ConfigException($"CA Config {p.Name}: importing an existing root key is not supported; leave it out to have one made");
                default:
                    throw new ConfigException($"CA Config has an unknown key {p.Name}");
            }
        }
        var key = new CaKeySpec(type ?? (bits is null ? "ec" : s.Key.Type), bits ?? (type == "rsa" ? 2048 : 256));
        return (s with { Key = key }).Validated();
    }

    /// <summary>Checks the bounds Consul enforces.</summary>
    /// <exception cref="ConfigException">A value is out of bounds.</exception>
    public CaSettings Validated()
    {
        if (LeafCertTtl < TimeSpan.FromHours(1)) throw new ConfigException("LeafCertTTL must be at least 1h");
        if (LeafCertTtl > TimeSpan.FromHours(8760)) throw new ConfigException("LeafCertTTL must be at most 8760h");
        if (IntermediateCertTtl < 3 * LeafCertTtl) throw new ConfigException("IntermediateCertTTL must be at least three times LeafCertTTL");
        if (RootCertTtl < IntermediateCertTtl) throw new ConfigException("RootCertTTL must be at least IntermediateCertTTL");
        if (CaKeySpec.Problem(Key.Type, Key.Bits) is { } why) throw new ConfigException(why);
        if (CsrMaxPerSecond < 0 || double.IsNaN(CsrMaxPerSecond)) throw new ConfigException("CSRMaxPerSecond cannot be negative");
        if (CsrMaxConcurrent < 0) throw new ConfigException("CSRMaxConcurrent cannot be negative");
        return this;
    }

    /// <summary>Whether changing to <paramref name="next"/> needs a new root (a new key type or size).</summary>
    public bool NeedsNewRoot(CaSettings next) => Key != next.Key;

    /// <summary>Writes the <c>Config</c> object in Consul's API spelling.</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("LeafCertTTL", Compact(LeafCertTtl));
        w.WriteString("IntermediateCertTTL", Compact(IntermediateCertTtl));
        w.WriteString("RootCertTTL", Compact(RootCertTtl));
        w.WriteString("RotationPeriod", Compact(RotationPeriod));
        w.WriteString("PrivateKeyType", Key.Type);
        w.WriteNumber("PrivateKeyBits", Key.Bits);
        w.WriteNumber("CSRMaxPerSecond", CsrMaxPerSecond);
        w.WriteNumber("CSRMaxConcurrent", CsrMaxConcurrent);
        w.WriteEndObject();
    }

    /// <summary>The <c>Config</c> object as JSON text (what the store keeps).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) WriteJson(w);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>A duration as people write them in CA configs (<c>72h</c>, <c>90m</c>); Go's full form when it has parts.</summary>
    private static string Compact(TimeSpan d) =>
        d.Ticks % TimeSpan.TicksPerHour == 0 ? $"{(long)d.TotalHours}h"
        : d.Ticks % TimeSpan.TicksPerMinute == 0 ? $"{(long)d.TotalMinutes}m"
        : d.Ticks % TimeSpan.TicksPerSecond == 0 ? $"{(long)d.TotalSeconds}s"
        : GoDuration.Format(d);

    private static TimeSpan Duration(JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.String && GoDuration.TryParse(p.Value.GetString(), out var d) && d > TimeSpan.Zero
            ? d : throw new ConfigException($"CA Config {p.Name} must be a duration such as \"72h\"");

    private static string Text(JsonProperty p) => p.Value.ValueKind == JsonValueKind.String
        ? p.Value.GetString()! : throw new ConfigException($"CA Config {p.Name} must be a string");

    private static double Number(JsonProperty p) => p.Value.ValueKind switch
    {
        JsonValueKind.Number => p.Value.GetDouble(),
        JsonValueKind.String when double.TryParse(p.Value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => throw new ConfigException($"CA Config {p.Name} must be a number"),
    };
}
