using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mesh.Cli.Http;

namespace Mesh.Cli.Commands.Services;

/// <summary>
/// <c>mesh services register</c>: registers services with the local agent from flags or from agent-style JSON
/// definition files (flags then fill in what the files leave unset, as Consul's <c>CombineArgs</c> does).
/// </summary>
internal sealed class ServicesRegisterCommand : Command
{
    private const string Usage = """
        Usage: mesh services register [options] [FILE...]

          Register one or more services using the local agent API. Services can
          be registered from standard Mesh configuration files (JSON) or
          using flags. The service is registered and the command returns. The caller
          must remember to call "mesh services deregister" or a similar API to
          deregister the service when complete.

              $ mesh services register web.json

          Additional flags and more advanced use cases are detailed below.
        """;

    internal static readonly JsonSerializerOptions BodyOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Func<string> _id, _name, _address, _kind;
    private readonly Func<int> _port;
    private readonly Func<IReadOnlyList<string>> _tags;
    private readonly Func<IReadOnlyDictionary<string, string>> _meta;
    private readonly HttpOptions _http;

    public ServicesRegisterCommand(CliServices services) : base(services, Usage)
    {
        _id = Flags.String("id", "",
            "ID of the service to register for arg-based registration. If this isn't set, it will default to the -name value.");
        _name = Flags.String("name", "", "Name of the service to register for arg-based registration.");
        _address = Flags.String("address", "", "Address of the service to register for arg-based registration.");
        _port = Flags.Int("port", 0, "Port of the service to register for arg-based registration.");
        _meta = Flags.Map("meta",
            "Metadata to set on the service, formatted as key=value. This flag may be specified multiple times to set " +
            "multiple meta fields.");
        _tags = Flags.List("tag", "Tag to add to the service. This flag can be specified multiple times to set multiple tags.");
        _kind = Flags.String("kind", "", "The services 'kind'");
        _http = HttpOptions.Register(Flags, serverFlags: true);
    }

    public override string Synopsis => "Register services with the local agent";

    protected override async Task<int> ExecuteAsync(CliContext ctx)
    {
        var files = Flags.Args;
        if (files.Count == 0 && _name().Length == 0)
        {
            ctx.Err.WriteLine("Service registration requires at least one argument or flags.");
            return 1;
        }
        if (files.Count > 0 && _name().Length > 0)
        {
            // Consul's wording, which says -id although it checks -name.
            ctx.Err.WriteLine("Service registration requires arguments or -id, not both.");
            return 1;
        }

        List<JsonObject> definitions;
        if (files.Count > 0)
        {
            try
            {
                definitions = ServiceDefinitions.Load(files);
            }
            catch (InvalidDataException e)
            {
                ctx.Err.WriteLine($"Error: {e.Message}");
                return 1;
            }
            foreach (var definition in definitions) CombineFlags(definition);
        }
        else
        {
            definitions = [FromFlags()];
        }

        using var client = CreateClient(ctx, _http);
        if (client is null) return 1;
        foreach (var definition in definitions)
        {
            var name = ServiceDefinitions.StringOf(definition, "Name");
            try
            {
                await client.Agent.ServiceRegisterAsync(Encoding.UTF8.GetBytes(definition.ToJsonString(BodyOptions)), ctx.Cancellation);
            }
            catch (ApiException e)
            {
                ctx.Err.WriteLine($"Error registering service \"{name}\": {e.Message}");
                return 1;
            }
            ctx.Out.WriteLine($"Registered service: {name}");
        }
        return 0;
    }

    /// <summary>The registration the flags describe, with unset fields omitted (Go's <c>omitempty</c>), in Go's field order.</summary>
    private JsonObject FromFlags()
    {
        var body = new JsonObject();
        if (_kind().Length > 0) body["Kind"] = _kind();
        if (_id().Length > 0) body["ID"] = _id();
        body["Name"] = _name();
        if (_tags().Count > 0) body["Tags"] = new JsonArray(_tags().Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        if (_port() != 0) body["Port"] = _port();
        if (_address().Length > 0) body["Address"] = _address();
        if (_meta().Count > 0) body["Meta"] = MetaObject(_meta());
        return body;
    }

    /// <summary>
    /// Consul's <c>CombineArgs</c>: scalar flags fill fields the file left empty, <c>-meta</c> pairs override the
    /// file's, <c>-tag</c>s are appended to the file's tags.
    /// </summary>
    private void CombineFlags(JsonObject definition)
    {
        void Fill(string field, string value)
        {
            if (value.Length > 0 && ServiceDefinitions.StringOf(definition, field).Length == 0) definition[field] = value;
        }
        Fill("ID", _id());
        Fill("Address", _address());
        Fill("Kind", _kind());
        if (_port() != 0 && !(definition["Port"] is JsonValue p && p.TryGetValue<int>(out var port) && port != 0))
            definition["Port"] = _port();
        if (_meta().Count > 0)
        {
            if (definition["Meta"] is not JsonObject meta) definition["Meta"] = meta = new JsonObject();
            foreach (var (k, v) in _meta()) meta[k] = v;
        }
        if (_tags().Count > 0)
        {
            if (definition["Tags"] is not JsonArray tags) definition["Tags"] = tags = new JsonArray();
            foreach (var t in _tags()) tags.Add(t);
        }
    }

    private static JsonObject MetaObject(IReadOnlyDictionary<string, string> meta)
    {
        var obj = new JsonObject();
        foreach (var (k, v) in meta) obj[k] = v;
        return obj;
    }
}
