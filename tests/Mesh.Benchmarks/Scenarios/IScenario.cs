using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>Everything a scenario may use: the running agent, a setup client, the options and a progress log.</summary>
internal sealed record BenchContext(AgentProcess Agent, AgentApi Api, BenchOptions Options, string WrkPath, TextWriter Log);

/// <summary>One end-to-end measurement against the running agent.</summary>
internal interface IScenario
{
    string Name { get; }

    Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation);
}
