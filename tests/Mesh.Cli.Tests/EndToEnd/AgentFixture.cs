namespace Mesh.Cli.Tests.EndToEnd;

/// <summary>One agent shared by the end-to-end tests of a collection.</summary>
public sealed class AgentFixture : IAsyncLifetime
{
    internal AgentProcess Agent { get; private set; } = null!;

    public async Task InitializeAsync() => Agent = await AgentProcess.StartAsync();

    public async Task DisposeAsync() => await Agent.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class AgentCollection : ICollectionFixture<AgentFixture>
{
    public const string Name = "real agent";
}
