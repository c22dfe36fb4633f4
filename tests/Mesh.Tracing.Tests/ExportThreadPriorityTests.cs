using System.Diagnostics;
using Mesh.Tracing.Tests.Receivers;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

namespace Mesh.Tracing.Tests;

/// <summary>
/// Exports run behind the data path: the batch processor's own thread drops to nice 10 on its first export, and no
/// other thread is touched. Linux only, like the feature; the nice value is read from <c>/proc/thread-self/stat</c>.
/// </summary>
public class ExportThreadPriorityTests
{
    /// <summary>What OpenTelemetry names its batch export threads (the name the priority change relies on).</summary>
    private const string ExportThreadName = "OpenTelemetry-BatchExportProcessor-Test";

    /// <summary>The calling thread's nice value: field 19 of its stat line, counted after the parenthesised name.</summary>
    private static int CurrentNice()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Runs <paramref name="body"/> on a new thread of the given name; returns the nice values before and after.</summary>
    private static (int Before, int After) OnThread(string name, Action body)
    {
        (int, int) result = default;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var before = CurrentNice();
                body();
                result = (before, CurrentNice());
            }
            catch (Exception e) { failure = e; }
        }) { Name = name };
        thread.Start();
        thread.Join();
        if (failure is not null) throw new Xunit.Sdk.XunitException($"the thread failed: {failure}");
        return result;
    }

    private static Activity FinishedSpan(ActivitySource source)
    {
        using var activity = source.StartActivity("GET /", ActivityKind.Server)!;
        activity.SetTag("http.response.status_code", 200);
        return activity;
    }

    [Fact]
    public void LowerForExportThread_ExportThread_RunsAtNice10()
    {
        if (!OperatingSystem.IsLinux()) return;

        var (_, after) = OnThread(ExportThreadName, ExportThreadPriority.LowerForExportThread);

        Assert.Equal(ExportThreadPriority.Nice, after);
    }

    [Fact]
    public async Task LowerForExportThread_OtherThreads_Untouched()
    {
        if (!OperatingSystem.IsLinux()) return;

        var (before, after) = OnThread("request worker", ExportThreadPriority.LowerForExportThread);
        Assert.Equal(before, after);

        // A thread-pool thread goes back to serving requests after a flush runs on it: never lowered, even when a
        // host gave the pool a name of that shape.
        var (poolBefore, poolAfter) = await Task.Run(() =>
        {
            var nice = CurrentNice();
            ExportThreadPriority.LowerForExportThread();
            return (nice, CurrentNice());
        });
        Assert.Equal(poolBefore, poolAfter);
    }

    [Fact]
    public async Task ZipkinExporter_Export_LowersItsExportThreadAndDelivers()
    {
        if (!OperatingSystem.IsLinux()) return;
        await using var receiver = await ZipkinReceiver.StartAsync();
        using var exporter = new ZipkinExporter(new ZipkinExporterOptions { Endpoint = receiver.SpansEndpoint, ServiceName = "counting" });

        var spanId = ExportOneOnExportThread(exporter);

        await receiver.Spans.WaitAsync(s => s.Any(x => x.Id == spanId));
    }

    [Fact]
    public async Task OtlpExporter_Export_LowersItsExportThreadAndDelivers()
    {
        if (!OperatingSystem.IsLinux()) return;
        await using var receiver = await OtlpReceiver.StartAsync();
        using var exporter = new OtlpExporter(new OtlpExporterOptions
        {
            Protocol = OtlpExportProtocol.HttpProtobuf,
            Endpoint = new Uri(receiver.HttpBaseAddress, "/v1/traces"),
        });

        var spanId = ExportOneOnExportThread(exporter);

        await receiver.Spans.WaitAsync(s => s.Any(x => x.Span.SpanId == spanId));
    }

    [Fact]
    public void BatchProcessor_ExportsOnANamedThreadOfItsOwn()
    {
        // The priority change recognises the export thread by OpenTelemetry's naming; this pins that naming down, so
        // an OpenTelemetry upgrade that changes it fails here instead of silently exporting at full priority.
        using var source = new ActivitySource("TracingTests.Priority." + Guid.NewGuid().ToString("N"));
        var exporter = new ThreadRecordingExporter();
        using var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(source.Name)
            .AddProcessor(new BatchActivityExportProcessor(exporter))
            .Build()!;

        FinishedSpan(source);
        Assert.True(provider.ForceFlush(15_000));

        var (name, pooled) = Assert.Single(exporter.Threads.Distinct());
        Assert.StartsWith("OpenTelemetry-", name);
        Assert.False(pooled);
    }

    /// <summary>
    /// Exports one finished span through <paramref name="exporter"/> on a thread named as OpenTelemetry names its
    /// export threads; asserts the export succeeded and left that thread at <see cref="ExportThreadPriority.Nice"/>.
    /// Returns the span's id.
    /// </summary>
    private static string ExportOneOnExportThread(BaseExporter<Activity> exporter)
    {
        using var source = new ActivitySource("TracingTests.Priority." + Guid.NewGuid().ToString("N"));
        using var listener = ListenTo(source);
        var span = FinishedSpan(source);

        ExportResult result = default;
        var (_, after) = OnThread(ExportThreadName, () => result = exporter.Export(new Batch<Activity>([span], 1)));

        Assert.Equal(ExportResult.Success, result);
        Assert.Equal(ExportThreadPriority.Nice, after);
        return span.SpanId.ToHexString();
    }

    private static ActivityListener ListenTo(ActivitySource source)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => ReferenceEquals(s, source),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private sealed class ThreadRecordingExporter : BaseExporter<Activity>
    {
        public List<(string? Name, bool Pooled)> Threads { get; } = [];

        public override ExportResult Export(in Batch<Activity> batch)
        {
            lock (Threads) Threads.Add((Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread));
            return ExportResult.Success;
        }
    }
}
