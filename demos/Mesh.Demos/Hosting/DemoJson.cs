using System.Text.Json.Serialization;
using Mesh.Demos.Canary;
using Mesh.Demos.Counting;
using Mesh.Demos.Dashboard;

namespace Mesh.Demos.Hosting;

/// <summary>The JSON the demo services write and read, in camelCase, without null fields.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CountAnswer))]
[JsonSerializable(typeof(CountingStatus))]
[JsonSerializable(typeof(ApiAnswer))]
[JsonSerializable(typeof(ErrorAnswer))]
internal sealed partial class DemoJson : JsonSerializerContext;

/// <summary>An error a service answers with, e.g. web's 502 when api cannot be reached.</summary>
/// <param name="Error">What went wrong.</param>
internal sealed record ErrorAnswer(string Error);
