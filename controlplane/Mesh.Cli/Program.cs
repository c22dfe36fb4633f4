using Mesh.Cli;
using Mesh.Cli.Commands;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var ctx = CliContext.FromConsole(cts.Token);
if (args.Length > 0 && args[0] == "agent") return await AgentCommand.RunAsync(ctx, args[1..]);
ctx.Err.WriteLine("Usage: mesh agent -dev");
return 1;
