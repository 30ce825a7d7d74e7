using System.Globalization;
using System.Text;

namespace Aica.Config;

/// <summary>One registered user: <c>name:group:uid:gid:shell:layout</c> (or the legacy <c>name:group</c>).</summary>
public sealed record UserEntry(string Name, string Group, int? Uid, int? Gid, string? Shell, string? Layout, int Line = 0)
{
    public bool IsLegacy => Uid is null;
    public string Render() => IsLegacy ? $"{Name}:{Group}" : $"{Name}:{Group}:{Uid}:{Gid}:{Shell}:{Layout}";
}

public sealed record RegistryProblem(int Line, string Text, string Reason)
{
    public override string ToString() => $"users.txt line {Line}: {Reason}";
}

/// <summary>
/// /data/config/users.txt (SPEC §4). A rewrite keeps comments and lines it cannot parse verbatim and in place;
/// only the lines of the users that changed are touched.
/// </summary>
public sealed class Registry
{
    private readonly List<string> _lines;
    private List<UserEntry> _users = [];
    private Dictionary<string, UserEntry> _byName = new(StringComparer.Ordinal); // doctor looks up every group member
    private List<RegistryProblem> _problems = [];

    private Registry(List<string> lines)
    {
        _lines = lines;
        Reparse();
    }

    public IReadOnlyList<UserEntry> Users => _users;
    public IReadOnlyList<RegistryProblem> Problems => _problems;

    /// <summary>
    /// The registry's generation: <c># generation N</c>, a comment line (so the bash tool, older aica and SPEC §4's
    /// parsers read the file as before), raised by one on every write aica makes under the shared lock. Nodes compare
    /// it with the generation they applied last (<c>aica sync</c>); 0 when the line is missing (a file never written by
    /// this version).
    /// </summary>
    public long Generation { get; private set; }

    public const string GenerationPrefix = "# generation ";

    /// <summary>Sets the generation line: in place when there is one, else as the first line.</summary>
    public void SetGeneration(long generation)
    {
        var line = $"{GenerationPrefix}{generation.ToString(CultureInfo.InvariantCulture)}";
        var at = _lines.FindIndex(l => ParseGeneration(l) is not null);
        if (at >= 0) _lines[at] = line;
        else _lines.Insert(0, line);
        Reparse(); // line numbers moved
    }

    /// <summary>The generation of a registry text without parsing its users (the first generation line, as <see cref="Generation"/>).</summary>
    public static long GenerationOf(string text)
    {
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (!line.StartsWith("#")) continue;
            if (ParseGeneration(line.ToString()) is { } g) return g;
        }
        return 0;
    }

    private static long? ParseGeneration(string line) =>
        line.StartsWith(GenerationPrefix, StringComparison.Ordinal)
        && long.TryParse(line.AsSpan(GenerationPrefix.Length).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g : null;

    public static Registry Parse(string text)
    {
        // A byte-order mark (a Windows editor, like CRLF) would make the first line unparseable and skip that user.
        var t = (text.StartsWith('\uFEFF') ? text[1..] : text).Replace("\r\n", "\n").Replace('\r', '\n');
        if (t.EndsWith('\n')) t = t[..^1];
        return new Registry(t.Length == 0 ? [] : t.Split('\n').ToList());
    }

    public UserEntry? Find(string name) => _byName.GetValueOrDefault(name);

    private void Reparse()
    {
        var users = new List<UserEntry>();
        var problems = new List<RegistryProblem>();
        var seen = new Dictionary<string, int>();
        long? generation = null;
        for (var i = 0; i < _lines.Count; i++)
        {
            var line = _lines[i].Trim();
            if (line.StartsWith('#')) { generation ??= ParseGeneration(line); continue; }
            if (line.Length == 0) continue;
            var (entry, reason) = ParseLine(line, i + 1);
            if (entry is null) { problems.Add(new RegistryProblem(i + 1, _lines[i], reason!)); continue; }
            if (seen.TryGetValue(entry.Name, out var first))
            {
                problems.Add(new RegistryProblem(i + 1, _lines[i], $"duplicate entry for '{entry.Name}' (first on line {first}), ignored"));
                continue;
            }
            seen[entry.Name] = i + 1;
            users.Add(entry);
        }
        _users = users;
        Generation = generation ?? 0;
        _byName = users.ToDictionary(u => u.Name, StringComparer.Ordinal); // names are unique: duplicates were skipped above
        _problems = problems;
    }

    /// <summary>Parses one trimmed, non-comment line; the reason is set when it is bad.</summary>
    public static (UserEntry? Entry, string? Reason) ParseLine(string line, int lineNo)
    {
        var f = line.Split(':');
        if (f.Length != 2 && f.Length != 6) return (null, $"expected name:group or name:group:uid:gid:shell:layout, got {f.Length} fields");
        if (Names.ValidateUser(f[0]) is { } ue) return (null, ue);
        if (Names.ValidateGroup(f[1]) is { } ge) return (null, ge);
        if (f.Length == 2) return (new UserEntry(f[0], f[1], null, null, null, null, lineNo), null);
        if (!int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)) return (null, $"uid '{Names.Printable(f[2])}' is not a number");
        if (!int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var gid)) return (null, $"gid '{Names.Printable(f[3])}' is not a number");
        if (Names.ValidateId(uid, "uid") is { } ie) return (null, ie);
        if (Names.ValidateId(gid, "gid") is { } je) return (null, je);
        if (Names.ValidateShell(f[4]) is { } se) return (null, se);
        if (Names.ValidateLayout(f[5]) is { } le) return (null, le);
        return (new UserEntry(f[0], f[1], uid, gid, f[4], f[5], lineNo), null);
    }

    /// <summary>Adds or replaces a user's line (in place when present). Returns false when nothing changed.</summary>
    public bool Upsert(UserEntry e)
    {
        var existing = Find(e.Name);
        var text = e.Render();
        if (existing is not null)
        {
            if (_lines[existing.Line - 1] == text) return false;
            _lines[existing.Line - 1] = text;
        }
        else _lines.Add(text);
        Reparse();
        return true;
    }

    /// <summary>Removes exactly the lines whose name field is <paramref name="name"/> (never a prefix match).</summary>
    public bool Remove(string name)
    {
        var before = _lines.Count;
        for (var i = _lines.Count - 1; i >= 0; i--)
        {
            var t = _lines[i].Trim();
            if (t.StartsWith('#')) continue;
            var colon = t.IndexOf(':');
            if (colon > 0 && t[..colon] == name) _lines.RemoveAt(i);
        }
        Reparse();
        return _lines.Count != before;
    }

    /// <summary>
    /// Remembers a freed uid as a comment line <c># retired uid N (NAME) TIME</c>, so a new user is never
    /// silently given it (and with it the old user's files); the line survives every rewrite like any comment.
    /// </summary>
    public void Retire(int uid, string name, string time)
    {
        if (RetiredUids().Any(r => r.Uid == uid && r.Name == name)) return;
        _lines.Add($"# retired uid {uid} ({name}) {time}");
    }

    /// <summary>The uids freed by user remove, with the name that had them.</summary>
    public IReadOnlyList<(int Uid, string Name)> RetiredUids()
    {
        var list = new List<(int, string)>();
        foreach (var raw in _lines)
        {
            var f = raw.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 5 && f[0] == "#" && f[1] == "retired" && f[2] == "uid" && int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
                && f[4].Length > 2 && f[4][0] == '(' && f[4][^1] == ')')
                list.Add((uid, f[4][1..^1]));
        }
        return list;
    }

    public string Render()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < _lines.Count; i++)
        {
            sb.Append(_lines[i]).Append('\n'); // a missing final newline is added on rewrite
        }
        return sb.ToString();
    }
}
