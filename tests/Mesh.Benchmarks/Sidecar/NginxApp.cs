using System.Globalization;
using Mesh.Benchmarks.Infrastructure;

namespace Mesh.Benchmarks.Sidecar;

/// <summary>
/// The application behind both proxy pairs: nginx with one worker answering every request with <c>200 "ok"</c>. A
/// separate, neutral C server so the app costs little and the same for both pairs, and its CPU is not booked to the
/// benchmark process.
/// </summary>
internal sealed class NginxApp : IAsyncDisposable
{
    public const string Body = "ok";

    private readonly ChildProcess _process;

    private NginxApp(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public ChildProcess Process => _process;

    public static async Task<NginxApp> StartAsync(string nginx, string directory, CancellationToken cancellation)
    {
        var port = ChildProcess.FreePort();
        Directory.CreateDirectory(directory);
        // Every path nginx writes is in the temp directory, so it runs unprivileged and leaves nothing behind. Keep-
        // alive is unlimited in requests and time: a proxy's pooled connection must not be closed under it mid-run.
        var config = $$"""
            worker_processes 1;
            daemon off;
            pid {{directory}}/nginx.pid;
            error_log {{directory}}/error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                client_body_temp_path {{directory}}/body;
                proxy_temp_path {{directory}}/proxy;
                fastcgi_temp_path {{directory}}/fastcgi;
                uwsgi_temp_path {{directory}}/uwsgi;
                scgi_temp_path {{directory}}/scgi;
                keepalive_requests 10000000;
                keepalive_timeout 600s;
                server {
                    listen 127.0.0.1:{{port.ToString(CultureInfo.InvariantCulture)}};
                    location / { default_type text/plain; return 200 "{{Body}}"; }
                }
            }
            """;
        var path = Path.Combine(directory, "nginx.conf");
        await File.WriteAllTextAsync(path, config, cancellation);
        var process = ChildProcess.Start("nginx (app)", nginx, ["-e", Path.Combine(directory, "error.log"), "-p", directory, "-c", path], directory);
        try
        {
            await process.WaitForPortAsync(port, TimeSpan.FromSeconds(20), cancellation);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return new NginxApp(process, port);
    }

    /// <summary>nginx's version line ("nginx/1.22.1"); it prints it on standard error.</summary>
    public static string Version(string nginx) => Tools.FirstLine(nginx, "-v").Replace("nginx version: ", "", StringComparison.Ordinal);

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
