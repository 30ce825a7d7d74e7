using System.Collections;

namespace Aica;

/// <summary>
/// Report lines that member-controlled input can multiply (planted links, backed-up entries), SPEC §6.10: the first
/// <see cref="Max"/> are kept and the rest only counted, so a million planted links cost a counter, not a million
/// strings. Enumerates the kept lines, then one "... and K more" line: output, --json, recovery.json and logs stay
/// small whatever a member plants.
/// </summary>
public sealed class CappedList(int max = CappedList.DefaultMax) : IReadOnlyList<string>
{
    /// <summary>Lines listed in one report before the rest are only counted.</summary>
    public const int DefaultMax = 20;

    private readonly List<string> _kept = [];

    public int Max { get; } = Math.Max(1, max);

    /// <summary>Lines added past <see cref="Max"/>: counted, not kept.</summary>
    public long Omitted { get; private set; }

    /// <summary>Every line added, kept or not.</summary>
    public long Total => _kept.Count + Omitted;

    public void Add(string line)
    {
        lock (_kept)
        {
            if (_kept.Count < Max) _kept.Add(line);
            else Omitted++;
        }
    }

    public void AddRange(IEnumerable<string> lines)
    {
        foreach (var l in lines) Add(l);
    }

    /// <summary>The line that stands for the lines not kept.</summary>
    public static string More(long omitted) => $"... and {omitted} more";

    public int Count => _kept.Count + (Omitted > 0 ? 1 : 0);

    public string this[int index] => index < _kept.Count ? _kept[index] : index == _kept.Count && Omitted > 0 ? More(Omitted) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<string> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The lines joined for one message: at most <see cref="Max"/> items and the count of the rest.</summary>
    public string Join(string separator) => string.Join(separator, this);

    /// <summary>The first <paramref name="max"/> of <paramref name="lines"/> and a count of the rest (enumerated once, not kept).</summary>
    public static CappedList Of(IEnumerable<string> lines, int max = DefaultMax)
    {
        var c = new CappedList(max);
        c.AddRange(lines);
        return c;
    }
}
