namespace Mesh.Agent.Checks;

/// <summary>Builds the probe for a check definition, refusing script checks unless the agent enables them.</summary>
internal sealed class CheckProbeFactory
{
    /// <summary>Consul's refusal, word for word, so tooling that recognises it keeps working.</summary>
    public const string ScriptsDisabledMessage =
        "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true";

    /// <param name="enableScriptChecks">The agent's <c>enable_script_checks</c>: script checks run arbitrary programs.</param>
    public CheckProbeFactory(bool enableScriptChecks) => EnableScriptChecks = enableScriptChecks;

    /// <summary>Whether script checks may run.</summary>
    public bool EnableScriptChecks { get; }

    /// <summary>The probe for an interval check; the caller owns it (dispose it when it is <see cref="IDisposable"/>).</summary>
    /// <exception cref="ArgumentException">The definition is invalid or is a TTL check (use <see cref="TtlCheck"/>).</exception>
    /// <exception cref="InvalidOperationException">A script check while script checks are disabled.</exception>
    public ICheckProbe Create(CheckDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(definition));
        }

        if (definition.IsScript)
        {
            return EnableScriptChecks ? new ScriptCheckProbe(definition) : throw new InvalidOperationException(ScriptsDisabledMessage);
        }

        if (definition.HTTP.Length > 0)
        {
            return new HttpCheckProbe(definition);
        }

        if (definition.TCP.Length > 0)
        {
            return new TcpCheckProbe(definition);
        }

        if (definition.UDP.Length > 0)
        {
            return new UdpCheckProbe(definition);
        }

        if (definition.GRPC.Length > 0)
        {
            return new GrpcCheckProbe(definition);
        }

        throw new ArgumentException("a TTL check has no probe; run it with TtlCheck", nameof(definition));
    }
}
