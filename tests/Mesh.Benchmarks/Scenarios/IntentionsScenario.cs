using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Mesh.Benchmarks.Infrastructure;
using Mesh.Benchmarks.Wrk;

namespace Mesh.Benchmarks.Scenarios;

/// <summary>
/// Connection decisions under load. 1,000 destination services each get a <c>service-intentions</c> entry of 10
/// sources (10,000 intentions; in every tenth entry one source is the wildcard <c>*</c>), plus <c>* => *</c> deny as
/// the catch-all, loaded through <c>PUT /v1/config</c>. Then wrk POSTs <c>/v1/agent/connect/authorize</c> with
/// bodies rotating over 4,096 questions: 80 % name a source the destination lists (an exact intention decides, one
/// in ten of them a deny), 10 % a source it does not list on a destination with a wildcard source (<c>* => dst</c>
/// decides), 10 % neither (the catch-all decides). A sample of the questions is answered and checked first, so the
/// figures are of correct decisions.
/// </summary>
internal sealed class IntentionsScenario : IScenario
{
    private const double TargetPerSecond = 20_000;
    private const int Destinations = 1_000;
    private const int SourcesPerDestination = 10;
    private const int Questions = 4_096;
    private const int Checked = 600;

    public string Name => "intentions";

    private static string Service(int i) => $"svc-{i:D4}";

    /// <summary>Destination <paramref name="d"/>'s source number <paramref name="j"/>: nearby services, so sources repeat across entries as real call graphs do.</summary>
    private static string SourceOf(int d, int j) => Service((d + 1 + j * 37) % Destinations);

    private static bool HasWildcard(int d) => d % 10 == 0;

    /// <summary>Source 3 of each destination is denied; the wildcard source (last, where there is one) too.</summary>
    private static bool Allows(int j) => j != 3;

    /// <summary>One question and the decision it must get: allowed or not, and the precedence of the deciding intention.</summary>
    private sealed record Question(string Source, string Destination, bool Authorized, int Precedence);

    public async Task<ScenarioResult> RunAsync(BenchContext context, CancellationToken cancellation)
    {
        var load = await LoadAsync(context, cancellation);
        var listed = JsonDocument.Parse(await context.Api.GetStringAsync("/v1/connect/intentions", cancellation)).RootElement.GetArrayLength();
        var trustDomain = JsonDocument.Parse(await context.Api.GetStringAsync("/v1/connect/ca/roots", cancellation)).RootElement
            .GetProperty("TrustDomain").GetString()!;
        context.Log.WriteLine($"{Name}: {listed:#,0} intentions loaded in {load:0.0} s; trust domain {trustDomain}");

        var questions = MakeQuestions();
        var wrong = await VerifyAsync(context, questions.Take(Checked), trustDomain, cancellation);
        if (wrong.Count > 0)
            throw new BenchmarkSetupException($"{wrong.Count} of {Checked} sampled decisions were wrong, e.g. {wrong[0]}");
        context.Log.WriteLine($"{Name}: {Checked} sampled decisions checked (exact allow and deny, wildcard source, catch-all)");

        var file = Path.Combine(Path.GetTempPath(), $"mesh-intentions-{Environment.ProcessId}.txt");
        await File.WriteAllLinesAsync(file, questions.Select(q => Body(q, trustDomain)), cancellation);
        try
        {
            var measured = await WrkMeasurement.RunAsync(context, Name, "/v1/agent/connect/authorize", "intentions.lua", TargetPerSecond,
                cancellation, scriptArgs: [file]);
            var figures = measured.Figures.Select(f => f.Key == "requests_per_sec"
                ? f with { Label = "decisions/s", Key = "decisions_per_sec", Unit = "decisions/s" }
                : f).ToList();
            var rebuild = await DecisionAfterWriteAsync(context, questions[0], trustDomain, cancellation);
            figures.Add(new Figure("first decision after a write, p50", "after_write_p50_ms", rebuild.P50, "ms"));
            figures.Add(new Figure("first decision after a write, max", "after_write_max_ms", rebuild.Max, "ms"));
            figures.Add(new Figure($"load {listed:#,0} intentions ({Destinations + 1:#,0} entries)", "load_s", load, "s"));
            figures.Add(new Figure("sampled decisions wrong", "wrong", wrong.Count, "", new Target(TargetKind.AtMost, 0)));
            var mix = $"questions: {questions.Count(q => q.Precedence == 9):#,0} exact, {questions.Count(q => q.Precedence == 8):#,0} wildcard source, " +
                      $"{questions.Count(q => q.Precedence == 5):#,0} catch-all of {questions.Count:#,0}; {questions.Count(q => q.Authorized):#,0} allowed";
            return measured with { Figures = figures, Notes = [mix, .. measured.Notes] };
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// The decision that follows a change of intentions pays for the agent's new view of them: 20 times, change one
    /// intention (through the exact endpoint), then time one decision.
    /// </summary>
    private static async Task<(double P50, double Max)> DecisionAfterWriteAsync(BenchContext context, Question q, string trustDomain, CancellationToken cancellation)
    {
        using var http = new HttpClient { BaseAddress = context.Agent.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var samples = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            using (var put = await http.PutAsync($"v1/connect/intentions/exact?source=bench-writer&destination={Service(1 + 10 * i)}",
                       new StringContent($$"""{"Action":"{{(i % 2 == 0 ? "allow" : "deny")}}"}"""), cancellation))
            {
                if (!put.IsSuccessStatusCode) throw new BenchmarkSetupException($"PUT intention answered {(int)put.StatusCode}");
            }
            var started = Stopwatch.GetTimestamp();
            using var content = new StringContent(Body(q, trustDomain), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("v1/agent/connect/authorize", content, cancellation);
            await response.Content.ReadAsStringAsync(cancellation);
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        samples.Sort();
        return (samples[samples.Count / 2], samples[^1]);
    }

    private static async Task<double> LoadAsync(BenchContext context, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        await context.Api.PutJsonAsync("/v1/config", """{"Kind":"service-intentions","Name":"*","Sources":[{"Name":"*","Action":"deny"}]}""", cancellation);
        // Several writers at once, as many operators or a CI job would: each write is validated against the whole graph.
        await Parallel.ForEachAsync(Enumerable.Range(0, Destinations), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellation },
            async (d, ct) =>
            {
                var sources = Enumerable.Range(0, SourcesPerDestination).Select(j =>
                {
                    var name = HasWildcard(d) && j == SourcesPerDestination - 1 ? "*" : SourceOf(d, j);
                    var action = name == "*" || !Allows(j) ? "deny" : "allow";
                    return $$"""{"Name":"{{name}}","Action":"{{action}}"}""";
                });
                await context.Api.PutJsonAsync("/v1/config",
                    $$"""{"Kind":"service-intentions","Name":"{{Service(d)}}","Sources":[{{string.Join(',', sources)}}]}""", ct);
            });
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The questions in a fixed pseudo-random order (same every run), with the answers they must get.</summary>
    private static List<Question> MakeQuestions()
    {
        var random = new Random(20_000);
        var questions = new List<Question>(Questions);
        while (questions.Count < Questions)
        {
            var roll = random.Next(10);
            if (roll < 8)
            {
                var d = random.Next(Destinations);
                var j = random.Next(HasWildcard(d) ? SourcesPerDestination - 1 : SourcesPerDestination);
                questions.Add(new Question(SourceOf(d, j), Service(d), Allows(j), 9));
            }
            else
            {
                // A source that is not among the destination's: its wildcard source decides, or the catch-all.
                var d = roll == 8 ? random.Next(Destinations / 10) * 10 : random.Next(Destinations / 10) * 10 + 1 + random.Next(9);
                var listedSources = Enumerable.Range(0, SourcesPerDestination).Select(j => SourceOf(d, j)).ToHashSet();
                string source;
                do source = Service(random.Next(Destinations)); while (listedSources.Contains(source));
                questions.Add(new Question(source, Service(d), false, HasWildcard(d) ? 8 : 5));
            }
        }
        return questions;
    }

    private static string Body(Question q, string trustDomain) =>
        $$"""{"Target":"{{q.Destination}}","ClientCertURI":"spiffe://{{trustDomain}}/ns/default/dc/dc1/svc/{{q.Source}}","ClientCertSerial":"0a:01"}""";

    private static async Task<List<string>> VerifyAsync(BenchContext context, IEnumerable<Question> sample, string trustDomain, CancellationToken cancellation)
    {
        using var http = new HttpClient { BaseAddress = context.Agent.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var wrong = new List<string>();
        foreach (var q in sample)
        {
            using var content = new StringContent(Body(q, trustDomain), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("v1/agent/connect/authorize", content, cancellation);
            var text = await response.Content.ReadAsStringAsync(cancellation);
            if (!response.IsSuccessStatusCode)
            {
                wrong.Add($"{q.Source} => {q.Destination}: {(int)response.StatusCode} {text.Trim()}");
                continue;
            }
            var answer = JsonDocument.Parse(text).RootElement;
            var authorized = answer.GetProperty("Authorized").GetBoolean();
            var reason = answer.GetProperty("Reason").GetString() ?? "";
            if (authorized != q.Authorized || !reason.Contains($"(Precedence: {q.Precedence},", StringComparison.Ordinal))
                wrong.Add($"{q.Source} => {q.Destination}: expected {(q.Authorized ? "allow" : "deny")} at precedence {q.Precedence}, got {authorized} ({reason})");
        }
        return wrong;
    }
}
