using Aica.Site;
using Aica.Services;

namespace Aica.Cli;

/// <summary>
/// The progress line of long work on stderr: "perms /data/cache: 41,210 entries, 3.1 GiB, 12,400/s", with
/// "n/total (p%), ETA m:ss" when the total is known and the latest child line (rsync's file) after it. Redrawn at
/// most every <see cref="Interval"/> (ten a second) in place (<c>\r</c> + clear to end of line), cut to the terminal's width, and
/// erased when the phase ends, so the command's own output starts on a clean line.
/// </summary>
public sealed class TerminalProgress(TextWriter w, Func<TimeSpan> clock, Func<int> columns) : IProgressReporter
{
    /// <summary>At most ten redraws a second.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    public TimeSpan Interval { get; init; } = DefaultInterval;
    private const string Erase = "\r\e[K";

    private readonly object _gate = new();
    private string? _label;
    private string _unit = "entries";
    private long? _total;
    private long _items, _bytes;
    private TimeSpan _start;
    // Ticks of the last draw: read without the lock by the walk's threads, so one long holds it.
    private long _lastDrawTicks;
    private string? _note;
    private bool _drawn;

    /// <summary>
    /// The reporter for this run: drawn only when stderr is the process's own terminal, TERM is set and not dumb and
    /// -q is not given; otherwise nothing (a pipe, a log file, cron or a test gets no control characters).
    /// </summary>
    public static IProgressReporter For(GlobalOptions o, TextWriter stderr)
    {
        if (o.Quiet || !ReferenceEquals(stderr, Terminal.Err) || !Native.Sys.IsTerminal(2)) return NoProgress.Instance;
        if (Environment.GetEnvironmentVariable("TERM") is null or "" or "dumb") return NoProgress.Instance;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Test hook: AICA_PROGRESS_INTERVAL_MS=0 draws on every update, so a short run on a test's tiny tree shows it.
        var interval = int.TryParse(Environment.GetEnvironmentVariable("AICA_PROGRESS_INTERVAL_MS"), out var ms) && ms >= 0 ? TimeSpan.FromMilliseconds(ms) : DefaultInterval;
        return new TerminalProgress(stderr, () => clock.Elapsed, () => Native.Sys.TerminalColumns(2) ?? 80) { Interval = interval };
    }

    public void Begin(string label, long? total = null, string unit = "entries")
    {
        lock (_gate)
        {
            if (_drawn) w.Write(Erase);
            _drawn = false;
            _label = label;
            _unit = unit;
            _total = total;
            _items = _bytes = 0;
            _note = null;
            _start = clock(); // the first draw comes one interval in: quick work shows nothing
            Volatile.Write(ref _lastDrawTicks, _start.Ticks);
        }
    }

    public void Advance(long items = 1, long bytes = 0)
    {
        Interlocked.Add(ref _items, items);
        Interlocked.Add(ref _bytes, bytes);
        MaybeDraw();
    }

    public void Note(string line)
    {
        Volatile.Write(ref _note, line);
        MaybeDraw();
    }

    public void End()
    {
        lock (_gate)
        {
            if (_drawn) w.Write(Erase);
            _drawn = false;
            _label = null;
        }
    }

    private void MaybeDraw()
    {
        var now = clock();
        if (now.Ticks - Volatile.Read(ref _lastDrawTicks) < Interval.Ticks) return; // cheap for the walk's threads
        lock (_gate)
        {
            if (_label is null || now.Ticks - _lastDrawTicks < Interval.Ticks) return;
            Volatile.Write(ref _lastDrawTicks, now.Ticks);
            w.Write(Erase + Fit(Line(now), columns()));
            _drawn = true;
        }
    }

    /// <summary>The text of the line at <paramref name="now"/> (without control characters).</summary>
    internal string Line(TimeSpan now)
    {
        var items = Interlocked.Read(ref _items);
        var bytes = Interlocked.Read(ref _bytes);
        var seconds = Math.Max((now - _start).TotalSeconds, 0.001);
        var rate = items / seconds;
        var text = $"{_label}: {items:N0}{(_total is { } t ? $"/{t:N0}" : "")} {_unit}";
        if (bytes > 0) text += $", {Human.Bytes(bytes)}";
        text += $", {rate:N0}/s";
        if (_total is { } total && total > 0)
        {
            text += $" ({Math.Min(100, 100 * items / total)}%)";
            if (items > 0 && items < total) text += $", ETA {Clock(TimeSpan.FromSeconds((total - items) / rate))}";
        }
        if (Volatile.Read(ref _note) is { Length: > 0 } note) text += $"  {note}";
        return text;
    }

    private static string Clock(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";

    /// <summary>One column short of the width: a line that fills it would wrap on some terminals and break the \r redraw.</summary>
    private static string Fit(string text, int width)
    {
        text = new string(text.Select(c => char.IsControl(c) ? '?' : c).ToArray()); // a file name may hold anything
        var room = Math.Max(10, width - 1);
        return text.Length <= room ? text : text[..(room - 1)] + "…";
    }
}
