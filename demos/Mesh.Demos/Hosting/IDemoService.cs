namespace Mesh.Demos.Hosting;

/// <summary>One demo service (<c>counting</c>, <c>dashboard</c>, <c>api</c>, <c>web</c>): its flags, its services and its endpoints.</summary>
internal interface IDemoService
{
    /// <summary>The subcommand, which is also the default <c>service.name</c> of its spans.</summary>
    string Name { get; }

    /// <summary>One line for the usage.</summary>
    string Summary { get; }

    /// <summary>The port it listens on unless <c>-port</c> or <c>PORT</c> says otherwise.</summary>
    int DefaultPort { get; }

    /// <summary>Adds the service's own flags.</summary>
    void AddFlags(FlagSet flags);

    /// <summary>Registers what the endpoints need, once the flags are parsed.</summary>
    void ConfigureServices(WebApplicationBuilder builder);

    /// <summary>Maps the endpoints.</summary>
    void Map(WebApplication app);
}
