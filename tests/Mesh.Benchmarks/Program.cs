using System.Runtime.InteropServices;
using Mesh.Benchmarks;
using Mesh.Benchmarks.Infrastructure;
using Mesh.Benchmarks.Scenarios;
using Mesh.Benchmarks.Wrk;

// End-to-end load measurements of a dev agent: start it, load it, print the figures as a table and as one JSON line.
// Exit code 0 whatever the figures are (a missed target is a result); 1 when something prevented measuring; 2 for a
// bad command line.

// Ctrl-C, SIGTERM and a closed terminal all cancel instead of ending the process on the spot, so the finally blocks
// run and kill the agent and wrk; otherwise they would outlive the benchmark, holding ports, memory and CPU.
using var cancel = new CancellationTokenSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, CancelOnSignal);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, CancelOnSignal);
using var onHangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, CancelOnSignal);

// The xDS scenario's load generator is this same program in its own process.
if (args.Length > 0 && args[0] == "xds-load") return await Mesh.Benchmarks.Xds.XdsLoadGenerator.RunAsync(args);
// So is the sidecar scenario's span sink, whose decoding must not pause the generator measuring the traced path.
if (args.Length > 0 && args[0] == "span-sink") return await Mesh.Benchmarks.Sidecar.SpanSinkServer.RunAsync(args, cancel.Token);

BenchOptions? options;
try
{
    options = BenchOptions.Parse(args);
}
catch (BenchmarkSetupException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
if (options is null)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

var output = Console.Out;
#if DEBUG
output.WriteLine("WARNING: this is a Debug build; run with -c Release for figures worth comparing.");
#endif

IScenario[] scenarios = options.Scenarios.Select(IScenario (name) => name switch
{
    "kv-get" => new KvGetScenario(),
    "kv-put" => new KvPutScenario(),
    "catalog-register" => new CatalogRegisterScenario(),
    "health-service" => new HealthServiceScenario(),
    "agent-checks" => new AgentChecksScenario(),
    "dns" => new DnsScenario(),
    "connect-ca" => new ConnectCaScenario(),
    "discovery-chain" => new DiscoveryChainScenario(),
    "intentions" => new IntentionsScenario(),
    "xds" => new XdsScenario(),
    "sidecar" => new SidecarScenario(),
    _ => new FanoutScenario(),
}).ToArray();

AgentProcess? agent = null;
try
{
    var needsWrk = options.Scenarios.Any(s => s is "kv-get" or "kv-put" or "catalog-register" or "health-service" or "intentions" or "sidecar");
    var wrk = needsWrk ? WrkRunner.Locate() : "";
    var machine = MachineConditions.Capture(needsWrk ? WrkRunner.Version(wrk) : "not needed");
    output.WriteLine("Mesh benchmarks");
    machine.Write(output);
    output.WriteLine($"options        {string.Join(' ', options.Scenarios)}; duration {options.Duration.TotalSeconds:0.#} s, " +
                     $"warm-up {options.Warmup.TotalSeconds:0.#} s, {options.Watchers:#,0} watchers, {options.Rounds} rounds");

    agent = await AgentProcess.StartAsync(TimeSpan.FromSeconds(60), cancel.Token);
    output.WriteLine($"agent          pid {agent.Pid}, http://{agent.HttpEndPoint}, `dotnet mesh.dll agent -dev -http-port 0 -dns-port 0 -grpc-port 0`, dns {agent.DnsEndPoint}, grpc {agent.GrpcEndPoint}");
    output.WriteLine();

    var results = new List<ScenarioResult>();
    using (var api = new AgentApi(agent.BaseAddress))
    {
        var context = new BenchContext(agent, api, options, wrk, output);
        foreach (var scenario in scenarios)
        {
            if (agent.HasExited)
            {
                results.Add(ScenarioResult.Failed(scenario.Name, "the agent has exited"));
                continue;
            }
            try
            {
                results.Add(await scenario.RunAsync(context, cancel.Token));
            }
            catch (Exception e) when (e is BenchmarkSetupException or HttpRequestException or IOException or InvalidDataException
                                          or TimeoutException || (e is OperationCanceledException && !cancel.IsCancellationRequested))
            {
                var detail = agent.HasExited ? $"{e.Message}; the agent exited:\n{agent.RecentOutput()}" : e.Message;
                results.Add(ScenarioResult.Failed(scenario.Name, detail));
            }
        }
    }

    await agent.DisposeAsync();
    agent = null;
    machine.LoadAfter = ProcFs.LoadAverage();

    Report.WriteTable(output, results);
    output.WriteLine($"load before    {machine.LoadBefore}");
    output.WriteLine($"load after     {machine.LoadAfter}");
    output.WriteLine(Report.JsonLine(machine, options, results));
    return results.Any(r => r.Error is not null) ? 1 : 0;
}
catch (BenchmarkSetupException e)
{
    Console.Error.WriteLine($"benchmark cannot run: {e.Message}");
    return 1;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("interrupted");
    return 130;
}
finally
{
    if (agent is not null) await agent.DisposeAsync();
}

void CancelOnSignal(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}
