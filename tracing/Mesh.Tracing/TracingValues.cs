using System.Globalization;

namespace Mesh.Tracing;

/// <summary>
/// Parsers for tracing settings, shared by environment variables and flags. Each takes the name of the setting it
/// reads so that an error names what the user wrote, not an internal property.
/// </summary>
internal static class TracingValues
{
    public static TraceExporters ParseExporters(string value, string setting)
    {
        var result = TraceExporters.None;
        var sawNone = false;
        foreach (var raw in value.Split(','))
        {
            var name = raw.Trim().ToLowerInvariant();
            switch (name)
            {
                case "otlp":
                    result |= TraceExporters.Otlp;
                    break;
                case "zipkin":
                    result |= TraceExporters.Zipkin;
                    break;
                case "none":
                    sawNone = true;
                    break;
                case "":
                    throw new ArgumentException($"{setting}: \"{value}\" has an empty exporter name", setting);
                default:
                    throw new ArgumentException(
                        $"{setting}: unknown exporter \"{raw.Trim()}\" (supported: otlp, zipkin, none)", setting);
            }
        }

        // "none" next to a real exporter is a contradiction; guessing which one was meant would hide a mistake.
        if (sawNone && result != TraceExporters.None)
        {
            throw new ArgumentException($"{setting}: \"none\" cannot be combined with other exporters (\"{value}\")", setting);
        }

        return result;
    }

    public static OtlpProtocol ParseProtocol(string value, string setting) => value.Trim().ToLowerInvariant() switch
    {
        "grpc" => OtlpProtocol.Grpc,
        "http/protobuf" => OtlpProtocol.HttpProtobuf,
        "http/json" => throw new ArgumentException($"{setting}: http/json is not supported; use grpc or http/protobuf", setting),
        _ => throw new ArgumentException($"{setting}: unknown protocol \"{value}\" (supported: grpc, http/protobuf)", setting),
    };

    public static Uri ParseUrl(string value, string setting)
    {
        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"{setting}: \"{value}\" is not an absolute http:// or https:// URL", setting);
        }

        return uri;
    }

    public static double ParseRatio(string value, string setting)
    {
        if (!double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio) || double.IsNaN(ratio))
        {
            throw new ArgumentException($"{setting}: \"{value}\" is not a number", setting);
        }

        if (ratio < 0 || ratio > 1)
        {
            throw new ArgumentException($"{setting}: the sampling ratio {value} is not between 0 and 1", setting);
        }

        return ratio;
    }

    /// <summary>
    /// An <c>OTEL_TRACES_SAMPLER</c> name and its argument, as a ratio and whether it follows the parent. The argument
    /// matters only to the ratio samplers, which default it to 1.
    /// </summary>
    public static (double Ratio, bool ParentBased) ParseSampler(string name, string? argument, string setting, string argumentSetting)
    {
        double Ratio() => argument is null ? 1.0 : ParseRatio(argument, argumentSetting);
        return name.Trim().ToLowerInvariant() switch
        {
            "always_on" => (1.0, false),
            "always_off" => (0.0, false),
            "traceidratio" => (Ratio(), false),
            "parentbased_always_on" => (1.0, true),
            "parentbased_always_off" => (0.0, true),
            "parentbased_traceidratio" => (Ratio(), true),
            _ => throw new ArgumentException(
                $"{setting}: unsupported sampler \"{name}\" (supported: always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio)",
                setting),
        };
    }

    public static int ParsePositiveInt(string value, string setting)
    {
        if (!int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0)
        {
            throw new ArgumentException($"{setting}: \"{value}\" is not a positive whole number", setting);
        }

        return number;
    }

    public static bool ParseBool(string value, string setting) => value.Trim().ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ArgumentException($"{setting}: \"{value}\" is neither true nor false", setting),
    };

    /// <summary>
    /// <c>key1=value1,key2=value2</c> with percent-encoded values (W3C Baggage octets), as
    /// <c>OTEL_RESOURCE_ATTRIBUTES</c> is written.
    /// </summary>
    public static Dictionary<string, string> ParseResourceAttributes(string value, string setting)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in value.Split(','))
        {
            if (string.IsNullOrWhiteSpace(pair)) continue;
            var equals = pair.IndexOf('=');
            var key = equals > 0 ? pair[..equals].Trim() : "";
            if (key.Length == 0)
            {
                throw new ArgumentException($"{setting}: \"{pair.Trim()}\" is not key=value", setting);
            }

            string decoded;
            try
            {
                decoded = Uri.UnescapeDataString(pair[(equals + 1)..].Trim());
            }
            catch (UriFormatException)
            {
                throw new ArgumentException($"{setting}: the value of \"{key}\" is not valid percent-encoding", setting);
            }

            result[key] = decoded;
        }

        return result;
    }
}
