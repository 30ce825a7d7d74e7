namespace Aica;

/// <summary>
/// Progress of long work (tree walks, per-user checks, a child's output), reported by services and drawn, or not, by
/// the command line: services have no console. Every member may be called from several threads at once.
/// </summary>
public interface IProgressReporter
{
    /// <summary>A new phase named <paramref name="label"/> counting <paramref name="unit"/>; with <paramref name="total"/> known, an ETA can be shown.</summary>
    void Begin(string label, long? total = null, string unit = "entries");

    /// <summary><paramref name="items"/> more entries (or checks) done, <paramref name="bytes"/> more bytes seen.</summary>
    void Advance(long items = 1, long bytes = 0);

    /// <summary>The latest line of a child's output (rsync), shown after the counts.</summary>
    void Note(string line);

    /// <summary>The phase is over: its line is erased.</summary>
    void End();
}

/// <summary>Reports nothing: the default (tests, --json to a pipe, -q, no terminal).</summary>
public sealed class NoProgress : IProgressReporter
{
    public static readonly NoProgress Instance = new();
    private NoProgress() { }
    public void Begin(string label, long? total = null, string unit = "entries") { }
    public void Advance(long items = 1, long bytes = 0) { }
    public void Note(string line) { }
    public void End() { }
}

public static class ProgressPhases
{
    /// <summary>Begins a phase and ends it when the result is disposed: <c>using var _ = s.Progress.Phase("du /data");</c>.</summary>
    public static IDisposable Phase(this IProgressReporter p, string label, long? total = null, string unit = "entries")
    {
        p.Begin(label, total, unit);
        return new End(p);
    }

    private sealed class End(IProgressReporter p) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) p.End(); }
    }
}
