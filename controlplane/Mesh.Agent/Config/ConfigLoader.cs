using Mesh.State.Text;
using System.Text.Json;

namespace Mesh.Agent.Config;

/// <summary>
/// Loads Consul-style JSON config files: <c>-config-file</c> paths and every <c>*.json</c> of a <c>-config-dir</c> in
/// name order, merged so later values win. Keys are Consul's snake_case names; an unknown key is an error naming the
/// file and the key, as Consul does, so a typo never silently falls back to a default.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Applies the files (in order) on top of <paramref name="config"/>.</summary>
    /// <exception cref="ConfigException">A file is missing, malformed or has an unknown or mistyped key.</exception>
    public static AgentConfig ApplyFiles(AgentConfig config, IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var path in paths) config = ApplyFile(config, path);
        return config;
    }

    /// <summary>
    /// Applies <c>-config-file</c> and <c>-config-dir</c> arguments in order (a directory contributes its <c>*.json</c>
    /// files in name order) and remembers the arguments, so a reload reads the same places again.
    /// </summary>
    /// <exception cref="ConfigException">A path is missing, or a file is malformed or has an unknown or mistyped key.</exception>
    public static AgentConfig ApplyPaths(AgentConfig config, IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(config);
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path)) files.AddRange(FilesInDir(path));
            else if (File.Exists(path)) files.Add(path);
            else throw new ConfigException($"config path \"{path}\" does not exist");
        }
        return ApplyFiles(config, files) with { ConfigPaths = [.. paths] };
    }

    /// <summary>Checks every service and check definition of <paramref name="config"/> as the agent would register it.</summary>
    /// <exception cref="ConfigException">A definition is invalid; the message names its file and position.</exception>
    public static void ValidateDefinitions(AgentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Local.ConfigDefinitions.Validate(config, config.NodeName);
    }

    /// <summary>Expands a <c>-config-dir</c> to its <c>*.json</c> files in name order.</summary>
    public static IEnumerable<string> FilesInDir(string dir)
    {
        if (!Directory.Exists(dir)) throw new ConfigException($"config dir \"{dir}\" does not exist");
        return Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal);
    }

    private static AgentConfig ApplyFile(AgentConfig c, string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException ex) { throw new ConfigException($"cannot read config file \"{path}\": {ex.Message}"); }
        catch (UnauthorizedAccessException ex) { throw new ConfigException($"cannot read config file \"{path}\": {ex.Message}"); }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException ex)
        {
            // JSON's own positions are zero-based; people count lines and columns from 1.
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, column {(ex.BytePositionInLine ?? 0) + 1}" : "";
            throw new ConfigException($"config file \"{path}\" is not valid JSON{where}: {ex.Message.Split(" Path:")[0].Split(" LineNumber:")[0]}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{path}\" must hold a JSON object");
            var lines = DefinitionLines(text);
            foreach (var p in doc.RootElement.EnumerateObject())
                c = ApplyKey(c, path, p, lines);
        }
        return c with { ConfigFiles = [.. c.ConfigFiles, path] };
    }

    private static AgentConfig ApplyKey(AgentConfig c, string file, JsonProperty p, IReadOnlyDictionary<string, int> lines) => p.Name switch
    {
        "datacenter" => c with { Datacenter = Str(file, p) },
        "node_name" => c with { NodeName = Str(file, p) },
        "node_id" => c with { NodeId = Str(file, p) },
        "disable_host_node_id" => c with { DisableHostNodeId = Bool(file, p) },
        "client_addr" => c with { ClientAddr = Str(file, p) },
        "bind_addr" => c with { BindAddr = Str(file, p) },
        "advertise_addr" => c with { AdvertiseAddr = Str(file, p) },
        "data_dir" => c with { DataDir = Str(file, p) },
        "domain" => c with { Domain = Str(file, p) },
        "log_level" => c with { LogLevel = Str(file, p) },
        "log_json" => c with { LogJson = Bool(file, p) },
        "pid_file" => c with { PidFile = Str(file, p) },
        "server" => c with { Server = Bool(file, p) },
        "bootstrap" => c with { Bootstrap = Bool(file, p) },
        "bootstrap_expect" => c with { BootstrapExpect = Int(file, p) },
        "ui" => c with { Ui = Bool(file, p) },
        "enable_script_checks" => c with { EnableScriptChecks = Bool(file, p) },
        "tombstone_ttl" => c with { TombstoneTtl = PositiveDuration(file, p) },
        "session_ttl_min" => c with { SessionTtlMin = PositiveDuration(file, p) },
        "ports" => c with { Ports = ApplyPorts(c.Ports, file, p.Value) },
        // Definitions accumulate across files instead of replacing each other, as in Consul.
        "service" => c with { Services = [.. c.Services, Definition(file, "service", p.Value, lines)] },
        "services" => c with { Services = [.. c.Services, .. Definitions(file, "services", p.Value, lines)] },
        "check" => c with { Checks = [.. c.Checks, Definition(file, "check", p.Value, lines)] },
        "checks" => c with { Checks = [.. c.Checks, .. Definitions(file, "checks", p.Value, lines)] },
        "addresses" => ApplyAddresses(c, file, p.Value),
        "alt_domain" => c with { Dns = c.Dns with { AltDomain = Str(file, p) } },
        "recursors" => c with { Dns = c.Dns with { Recursors = [.. Strings(file, p)] } },
        "dns_config" => c with { Dns = ApplyDns(c.Dns, file, p.Value) },
        "connect" => c with { Connect = ApplyConnect(c.Connect, file, p.Value) },
        "tls" => c with { GrpcTls = ApplyTls(c.GrpcTls, file, p.Value) },
        "tracing" => c with { Tracing = ApplyTracing(c.Tracing, file, p.Value) },
        "default_intention_policy" => c with { DefaultIntentionPolicy = Str(file, p) is "allow" or "deny" or "" ? p.Value.GetString()! :
            throw new ConfigException($"config file \"{file}\": default_intention_policy must be \"allow\" or \"deny\"") },
        _ => throw new ConfigException($"config file \"{file}\": invalid config key {p.Name}"),
    };

    private static ConfigDefinition Definition(string file, string key, JsonElement value, IReadOnlyDictionary<string, int> lines) =>
        value.ValueKind == JsonValueKind.Object
            ? new ConfigDefinition($"{Path.GetFileName(file)}:{(lines.TryGetValue(key, out var line) ? line : 1)}: {key}", value.GetRawText())
            : throw new ConfigException($"config file \"{file}\": {key} must be an object");

    private static IEnumerable<ConfigDefinition> Definitions(string file, string key, JsonElement value, IReadOnlyDictionary<string, int> lines)
    {
        if (value.ValueKind != JsonValueKind.Array) throw new ConfigException($"config file \"{file}\": {key} must be an array");
        return value.EnumerateArray().Select((e, i) => Definition(file, $"{key}[{i}]", e, lines)).ToList();
    }

    /// <summary>
    /// The line each service or check definition starts on (<c>service</c>, <c>services[1]</c>...), so an invalid
    /// definition is reported at its place in the file. The parsed document keeps no positions; a reader pass does.
    /// </summary>
    private static Dictionary<string, int> DefinitionLines(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        string? key = null;
        var index = -1;
        int LineAt(long offset) => bytes.AsSpan(0, (int)offset).Count((byte)'\n') + 1;
        while (reader.Read())
        {
            if (reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.PropertyName)
            {
                key = reader.GetString();
                index = -1;
            }
            else if (reader.TokenType == JsonTokenType.StartObject && key is "service" or "check" && reader.CurrentDepth == 1)
                lines[key!] = LineAt(reader.TokenStartIndex);
            else if (reader.TokenType == JsonTokenType.StartObject && key is "services" or "checks" && reader.CurrentDepth == 2)
                lines[$"{key}[{++index}]"] = LineAt(reader.TokenStartIndex);
        }
        return lines;
    }

    private static PortsConfig ApplyPorts(PortsConfig ports, string file, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{file}\": ports must be an object");
        foreach (var p in e.EnumerateObject())
        {
            ports = p.Name switch
            {
                "http" => ports with { Http = Int(file, p) },
                "https" => ports with { Https = Int(file, p) },
                "dns" => ports with { Dns = Int(file, p) },
                "grpc" => ports with { Grpc = Int(file, p) },
                "grpc_tls" => ports with { GrpcTls = Int(file, p) },
                "server" => ports with { Server = Int(file, p) },
                "serf_lan" => ports with { SerfLan = Int(file, p) },
                "serf_wan" => ports with { SerfWan = Int(file, p) },
                _ => throw new ConfigException($"config file \"{file}\": invalid config key ports.{p.Name}"),
            };
        }
        return ports;
    }

    private static DnsConfig ApplyDns(DnsConfig dns, string file, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{file}\": dns_config must be an object");
        foreach (var p in e.EnumerateObject())
        {
            dns = p.Name switch
            {
                "allow_stale" => dns with { AllowStale = Bool(file, p) },
                "max_stale" => dns with { MaxStale = Duration(file, p) },
                "node_ttl" => dns with { NodeTtl = Duration(file, p) },
                "service_ttl" => dns with { ServiceTtl = ServiceTtls(file, p) },
                "enable_truncate" => dns with { EnableTruncate = Bool(file, p) },
                "only_passing" => dns with { OnlyPassing = Bool(file, p) },
                "udp_answer_limit" => dns with { UdpAnswerLimit = NonNegative(file, p) },
                "a_record_limit" => dns with { ARecordLimit = NonNegative(file, p) },
                "recursor_timeout" => dns with { RecursorTimeout = PositiveDuration(file, p) },
                "recursor_strategy" => dns with { RecursorStrategy = Str(file, p) is "sequential" or "random" ? p.Value.GetString()! :
                    throw new ConfigException($"config file \"{file}\": dns_config.recursor_strategy must be \"sequential\" or \"random\"") },
                "enable_additional_node_meta_txt" => dns with { NodeMetaTxt = Bool(file, p) },
                "disable_compression" => dns with { DisableCompression = Bool(file, p) },
                // Answers always come from this agent's own state, invalidated on every change, so there is no
                // separate agent cache to turn on or age: the keys are accepted for Consul configs and change nothing.
                "use_cache" => Unchanged(dns, Bool(file, p)),
                "cache_max_age" => Unchanged(dns, Duration(file, p)),
                "soa" => ApplySoa(dns, file, p.Value),
                _ => throw new ConfigException($"config file \"{file}\": invalid config key dns_config.{p.Name}"),
            };
        }
        return dns;
    }

    /// <summary>
    /// The <c>tls</c> stanza: <c>defaults</c> and <c>grpc</c> (which wins key by key) give the gRPC TLS port's
    /// certificate; <c>https</c> and <c>internal_rpc</c> are accepted for files shared with Consul and unused here.
    /// </summary>
    private static TlsFiles ApplyTls(TlsFiles tls, string file, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{file}\": tls must be an object");
        TlsFiles? defaults = null, grpc = null;
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Name)
            {
                case "defaults": defaults = TlsStanza(new TlsFiles(), file, "tls.defaults", p.Value); break;
                case "grpc": grpc = TlsStanza(new TlsFiles(), file, "tls.grpc", p.Value); break;
                case "https" or "internal_rpc": break;
                default: throw new ConfigException($"config file \"{file}\": invalid config key tls.{p.Name}");
            }
        }
        static string Pick(string grpc, string defaults, string before) => grpc.Length > 0 ? grpc : defaults.Length > 0 ? defaults : before;
        return new TlsFiles
        {
            CertFile = Pick(grpc?.CertFile ?? "", defaults?.CertFile ?? "", tls.CertFile),
            KeyFile = Pick(grpc?.KeyFile ?? "", defaults?.KeyFile ?? "", tls.KeyFile),
            CaFile = Pick(grpc?.CaFile ?? "", defaults?.CaFile ?? "", tls.CaFile),
        };
    }

    private static TlsFiles TlsStanza(TlsFiles tls, string file, string where, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{file}\": {where} must be an object");
        foreach (var p in e.EnumerateObject())
        {
            tls = p.Name switch
            {
                "cert_file" => tls with { CertFile = Str(file, p) },
                "key_file" => tls with { KeyFile = Str(file, p) },
                "ca_file" => tls with { CaFile = Str(file, p) },
                // Settings Consul has that this version does not act on are refused rather than silently ignored.
                _ => throw new ConfigException($"config file \"{file}\": invalid config key {where}.{p.Name}"),
            };
        }
        return tls;
    }

    /// <summary>
    /// The <c>tracing</c> block. Each value is checked here with the parser its flag and environment variable use, so
    /// a bad one stops the agent with the file and the key (<c>tracing.exporter: unknown exporter "jaeger"</c>) rather
    /// than when tracing starts.
    /// </summary>
    private static TracingSettings ApplyTracing(TracingSettings tracing, string file, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{file}\": tracing must be an object");
        foreach (var p in e.EnumerateObject())
        {
            var flag = TracingSettings.Keys.FirstOrDefault(k => k.Key == p.Name).Flag
                ?? throw new ConfigException($"config file \"{file}\": invalid config key tracing.{p.Name}");
            var setting = "tracing." + p.Name;
            string value;
            if (p.Name == "sample_ratio")
            {
                value = p.Value.ValueKind == JsonValueKind.Number
                    ? TracingSettings.Number(p.Value.GetDouble())
                    : throw new ConfigException($"config file \"{file}\": {setting} must be a number between 0 and 1");
            }
            else
            {
                value = p.Value.ValueKind == JsonValueKind.String
                    ? p.Value.GetString()!
                    : throw new ConfigException($"config file \"{file}\": {setting} must be a string");
            }

            try
            {
                _ = new Mesh.Tracing.TracingOptions().WithSetting(flag, value, setting);
            }
            catch (ArgumentException ex)
            {
                throw new ConfigException($"config file \"{file}\": {Mesh.Tracing.TracingOptions.ErrorText(ex)}");
            }

            tracing = tracing.With(flag, value);
        }

        return tracing;
    }

    private static ConnectConfig ApplyConnect(ConnectConfig connect, string file, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{file}\": connect must be an object");
        foreach (var p in e.EnumerateObject())
        {
            connect = p.Name switch
            {
                "enabled" => connect with { Enabled = Bool(file, p) },
                "ca_provider" => connect with { CaProvider = Str(file, p) },
                "ca_config" => connect with { CaConfigJson = CaConfig(file, p) },
                _ => throw new ConfigException($"config file \"{file}\": invalid config key connect.{p.Name}"),
            };
        }
        return connect;
    }

    /// <summary>A <c>ca_config</c> object, checked now so a bad value stops the agent with the file's name.</summary>
    private static string CaConfig(string file, JsonProperty p)
    {
        try
        {
            _ = Connect.CaSettings.Parse(p.Value);
        }
        catch (ConfigException ex)
        {
            throw new ConfigException($"config file \"{file}\": connect.ca_config: {ex.Message}");
        }
        return p.Value.GetRawText();
    }

    /// <summary>Keeps <paramref name="dns"/> as it is once a key's value has been checked.</summary>
    private static DnsConfig Unchanged<T>(DnsConfig dns, T _) => dns;

    private static DnsConfig ApplySoa(DnsConfig dns, string file, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{file}\": dns_config.soa must be an object");
        foreach (var p in e.EnumerateObject())
        {
            dns = p.Name switch
            {
                "refresh" => dns with { SoaRefresh = (uint)NonNegative(file, p) },
                "retry" => dns with { SoaRetry = (uint)NonNegative(file, p) },
                "expire" => dns with { SoaExpire = (uint)NonNegative(file, p) },
                "min_ttl" => dns with { SoaMinTtl = (uint)NonNegative(file, p) },
                _ => throw new ConfigException($"config file \"{file}\": invalid config key dns_config.soa.{p.Name}"),
            };
        }
        return dns;
    }

    private static System.Collections.Immutable.ImmutableDictionary<string, TimeSpan> ServiceTtls(string file, JsonProperty p)
    {
        if (p.Value.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{file}\": dns_config.service_ttl must be an object");
        var b = System.Collections.Immutable.ImmutableDictionary.CreateBuilder<string, TimeSpan>(StringComparer.Ordinal);
        foreach (var e in p.Value.EnumerateObject()) b[e.Name] = Duration(file, e);
        return b.ToImmutable();
    }

    private static IEnumerable<string> Strings(string file, JsonProperty p)
    {
        if (p.Value.ValueKind != JsonValueKind.Array) throw new ConfigException($"config file \"{file}\": {p.Name} must be an array of strings");
        return p.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String
            ? v.GetString()! : throw new ConfigException($"config file \"{file}\": {p.Name} must be an array of strings")).ToList();
    }

    private static int NonNegative(string file, JsonProperty p) => Int(file, p) is var n and >= 0
        ? n : throw new ConfigException($"config file \"{file}\": {p.Name} cannot be negative");

    private static TimeSpan Duration(string file, JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.String && GoDuration.TryParse(p.Value.GetString(), out var d) && d >= TimeSpan.Zero
            ? d : throw new ConfigException($"config file \"{file}\": {p.Name} must be a duration such as \"10s\"");

    private static AgentConfig ApplyAddresses(AgentConfig c, string file, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new ConfigException($"config file \"{file}\": addresses must be an object");
        foreach (var p in e.EnumerateObject())
        {
            c = p.Name switch
            {
                "http" => c with { ClientAddr = Str(file, p) },
                "dns" => c with { DnsAddr = Str(file, p) },
                _ => throw new ConfigException($"config file \"{file}\": invalid config key addresses.{p.Name}"),
            };
        }
        return c;
    }

    private static string Str(string file, JsonProperty p) => p.Value.ValueKind == JsonValueKind.String
        ? p.Value.GetString()! : throw new ConfigException($"config file \"{file}\": {p.Name} must be a string");

    private static bool Bool(string file, JsonProperty p) => p.Value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new ConfigException($"config file \"{file}\": {p.Name} must be a boolean"),
    };

    private static int Int(string file, JsonProperty p) => p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var n)
        ? n : throw new ConfigException($"config file \"{file}\": {p.Name} must be an integer");

    private static TimeSpan PositiveDuration(string file, JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.String && GoDuration.TryParse(p.Value.GetString(), out var d) && d > TimeSpan.Zero
            ? d : throw new ConfigException($"config file \"{file}\": {p.Name} must be a positive duration such as \"15m\"");
}

/// <summary>Configuration that cannot be used; the message says which file and key.</summary>
public sealed class ConfigException(string message) : Exception(message);
