namespace Mesh.Benchmarks.Infrastructure;

/// <summary>
/// The benchmark could not measure at all (missing tool, agent that does not start, API that misbehaves). Distinct
/// from a missed target, which is a result: this one makes the program exit non-zero with the message.
/// </summary>
internal sealed class BenchmarkSetupException(string message) : Exception(message);
