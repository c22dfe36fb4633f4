namespace Mesh.Demos.Tests.Infrastructure;

/// <summary>
/// The tests that run a whole demo (an agent, services and sidecars, five to seven processes): one at a time, since
/// the machine has two cores and their start-up is mostly JIT work.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DemoCollection
{
    public const string Name = "Whole demos";
}
