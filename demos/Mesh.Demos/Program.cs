using Mesh.Demos.Hosting;

return await DemoProgram.RunAsync(args, Console.Out, Console.Error);
