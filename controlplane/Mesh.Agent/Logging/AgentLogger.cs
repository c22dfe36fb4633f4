using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Mesh.Agent.Logging;

/// <summary>
/// The agent's log: lines in Consul's layout (<c>2026-01-02T03:04:05.678Z [INFO]  agent.http: message</c>) to
/// standard output, and the same lines to every <c>/v1/agent/monitor</c> subscriber. A slow subscriber loses lines
/// rather than slowing the agent down.
/// </summary>
public sealed class AgentLoggerProvider : ILoggerProvider
{
    private readonly TextWriter _out;
    private readonly object _writeGate = new();
    private readonly ConcurrentDictionary<Channel<LogLine>, LogLevel> _subscribers = new();

    /// <param name="output">Where lines go (standard output for the agent).</param>
    /// <param name="minimum">Lowest level written to <paramref name="output"/>.</param>
    /// <param name="json">Write JSON lines instead of text.</param>
    public AgentLoggerProvider(TextWriter output, LogLevel minimum, bool json)
    {
        ArgumentNullException.ThrowIfNull(output);
        _out = output;
        Minimum = minimum;
        Json = json;
    }

    /// <summary>Lowest level written to the output.</summary>
    public LogLevel Minimum { get; }

    /// <summary>Whether lines are JSON.</summary>
    public bool Json { get; }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new AgentLogger(this, ShortName(categoryName));

    /// <summary>Subscribes to lines at or above <paramref name="level"/>; dispose the returned channel's owner to stop.</summary>
    public (ChannelReader<LogLine> Lines, IDisposable Subscription) Subscribe(LogLevel level)
    {
        var channel = Channel.CreateBounded<LogLine>(new BoundedChannelOptions(512)
        {
            FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true,
        });
        _subscribers[channel] = level;
        return (channel.Reader, new Unsubscribe(() =>
        {
            _subscribers.TryRemove(channel, out _);
            channel.Writer.TryComplete();
        }));
    }

    internal bool IsEnabled(LogLevel level) => level != LogLevel.None && (level >= Minimum || !_subscribers.IsEmpty);

    internal void Write(LogLine line)
    {
        if (line.Level >= Minimum)
        {
            var text = Json ? line.ToJson() : line.ToText();
            lock (_writeGate)
            {
                _out.WriteLine(text);
                _out.Flush();
            }
        }
        foreach (var (channel, level) in _subscribers)
            if (line.Level >= level) channel.Writer.TryWrite(line);
    }

    /// <summary>Parses Consul's level names (<c>trace debug info warn error</c>).</summary>
    public static bool TryParseLevel(string? text, out LogLevel level)
    {
        level = (text ?? "").Trim().ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" or "" => LogLevel.Information,
            "warn" or "warning" => LogLevel.Warning,
            "err" or "error" => LogLevel.Error,
            _ => LogLevel.None,
        };
        return level != LogLevel.None;
    }

    private static string ShortName(string category)
    {
        // "Mesh.Agent.Http.HttpApi" -> "agent.http": the subsystem, as Consul names its loggers.
        var parts = category.Split('.');
        return parts.Length >= 3 && parts[0] == "Mesh" ? $"{parts[1]}.{parts[2]}".ToLowerInvariant() : category.ToLowerInvariant();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var channel in _subscribers.Keys) channel.Writer.TryComplete();
        _subscribers.Clear();
    }

    private sealed class Unsubscribe(Action action) : IDisposable
    {
        private int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) action();
        }
    }

    private sealed class AgentLogger(AgentLoggerProvider owner, string name) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => owner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (exception is not null) message += ": " + exception.Message;
            owner.Write(new LogLine(DateTime.UtcNow, logLevel, name, message));
        }
    }
}

/// <summary>One log line.</summary>
public readonly record struct LogLine(DateTime Time, LogLevel Level, string Name, string Message)
{
    private static string LevelText(LogLevel l) => l switch
    {
        LogLevel.Trace => "TRACE",
        LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO",
        LogLevel.Warning => "WARN",
        _ => "ERROR",
    };

    /// <summary>Consul's text layout.</summary>
    public string ToText() => $"{Time:yyyy-MM-ddTHH:mm:ss.fffZ} [{LevelText(Level)}] {(Level is LogLevel.Information or LogLevel.Warning ? " " : "")}{Name}: {Message}";

    /// <summary>One JSON object, as Consul's <c>-log-json</c>.</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("@level", LevelText(Level).ToLowerInvariant());
            w.WriteString("@message", Message);
            w.WriteString("@module", Name);
            w.WriteString("@timestamp", Time.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ"));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
