namespace Mesh.Agent.Hosting;

/// <summary>Who this agent is: fixed for its lifetime.</summary>
/// <param name="NodeId">The node's UUID.</param>
/// <param name="NodeName">The node's name.</param>
/// <param name="Datacenter">Its datacenter.</param>
/// <param name="AdvertiseAddr">The address other nodes reach it on.</param>
/// <param name="StartedAt">When the agent started.</param>
public sealed record AgentIdentity(string NodeId, string NodeName, string Datacenter, string AdvertiseAddr, DateTime StartedAt);
